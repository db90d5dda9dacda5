import { describe, expect, it } from 'vitest';
import { buildApplyCommand } from '../../src/transport/ssh/apply-command.js';
import { scriptBudgetSeconds, templateWithMode, withScriptCheck } from '../../src/transport/ssh/mode-command.js';

const SHA = 'a'.repeat(64);
const values = {
  script: 'C:\\ProgramData\\fleet-rollout\\staging\\.fleet\\apply-profile.ps1',
  prf: 'C:\\ProgramData\\fleet-rollout\\staging\\spring\\CORP+jdoe.prf',
  user: 'CORP\\jdoe',
  office: '11.0',
  campaign: 'spring',
  checksum: SHA,
  rollback: false,
};

/** The PowerShell text behind `-EncodedCommand`. */
function decoded(command: string): string {
  return Buffer.from(command.split(' ').at(-1) ?? '', 'base64').toString('utf16le');
}

describe('script modes and the pre-run script check', () => {
  it('adds mode switches after {rollback}, quoting their values like placeholders', () => {
    const template = templateWithMode('windows', undefined, {
      kind: 'verify',
      expectProxy: "mail.o'hara.com",
      expectFlags: '0x0023',
    });
    const text = decoded(buildApplyCommand('windows', values, template));
    expect(text).toContain("-Verify -ExpectProxy 'mail.o''hara.com' -ExpectFlags '0x0023'");
    expect(text).toContain("-User 'CORP\\jdoe'");
    expect(templateWithMode('posix', 'sh {script} --user {user}', { kind: 'probe' })).toBe(
      'sh {script} --user {user} --probe',
    );
  });

  it('bounds the Windows script below the command timeout; POSIX has no budget switch', () => {
    expect(scriptBudgetSeconds(120_000)).toBe(90);
    expect(scriptBudgetSeconds(60_000)).toBe(45);
    expect(scriptBudgetSeconds(1_000)).toBe(5);
    expect(templateWithMode('windows', undefined, { kind: 'budget', seconds: 45 })).toContain('-BudgetSeconds 45');
    expect(templateWithMode('posix', 'sh {script}', { kind: 'budget', seconds: 45 })).toBe('sh {script}');
  });

  it('checks the script hash right before running it, without braces the template grammar would refuse', () => {
    const windows = decoded(buildApplyCommand('windows', values, withScriptCheck('windows', undefined, SHA)));
    expect(windows).toContain(`(Get-FileHash -Algorithm SHA256 -LiteralPath '${values.script}').Hash -eq '${SHA}'`);
    expect(windows).toContain('exit 78');
    const posix = buildApplyCommand(
      'posix',
      { ...values, script: '/s/.fleet/apply-profile.sh' },
      withScriptCheck('posix', undefined, SHA),
    );
    expect(posix.startsWith(`if [ "$(sha256sum < '/s/.fleet/apply-profile.sh' | cut -c1-64)" = '${SHA}' ]`)).toBe(true);
    expect(() => withScriptCheck('posix', undefined, 'not-a-sha')).toThrow();
  });
});
