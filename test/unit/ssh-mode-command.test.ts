import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildApplyCommand } from '../../src/transport/ssh/apply-command.js';
import {
  SCRIPT_CHANGED_LINE,
  scriptBudgetSeconds,
  templateWithMode,
  withScriptCheck,
} from '../../src/transport/ssh/mode-command.js';

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
    expect(posix.startsWith(`case $(sha256sum < '/s/.fleet/apply-profile.sh') in '${SHA} '*) ;;`)).toBe(true);
    expect(() => withScriptCheck('posix', undefined, 'not-a-sha')).toThrow();
  });
});

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Runs the checked default-like command `sh -c '<check> cat {prf}'` in a scratch folder named `dirName`. */
async function runChecked(dirName: string, script: string) {
  const dir = join(await mkdtemp(join(tmpdir(), 'fleet-script-check-')), dirName);
  execFileSync('mkdir', ['-p', dir]);
  const files = { script: join(dir, 'apply-profile.sh'), prf: join(dir, 'u.prf') };
  await writeFile(files.script, script);
  await writeFile(files.prf, '[General]');
  const command = buildApplyCommand(
    'posix',
    { ...values, script: files.script, prf: files.prf },
    withScriptCheck('posix', 'cat {prf} # {script} {user} {office} {campaign} {checksum}', sha('script v1')),
  );
  let exitCode = 0;
  let stdout: string;
  try {
    stdout = execFileSync('sh', ['-c', command], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (error) {
    const failed = error as { status: number; stdout: string };
    exitCode = failed.status;
    stdout = failed.stdout;
  }
  await rm(join(dir, '..'), { recursive: true, force: true });
  return { exitCode, stdout };
}

describe('the posix script check in front of every run', () => {
  it('runs the command when the script on the host is the version the agent pushed', async () => {
    expect(await runChecked('plain', 'script v1')).toEqual({ exitCode: 0, stdout: '[General]' });
  });

  it('answers exit 78 and the script-changed line for any other content, and runs nothing', async () => {
    const run = await runChecked('stale', 'script v0');
    expect(run.exitCode).toBe(78);
    expect(run.stdout.trimEnd()).toBe(SCRIPT_CHANGED_LINE);
  });

  it('holds for folder names sha256sum would escape (backslash, quote)', async () => {
    expect(await runChecked("o'b\\x", 'script v1')).toEqual({ exitCode: 0, stdout: '[General]' });
    expect((await runChecked("o'b\\x", 'script v2')).exitCode).toBe(78);
  });
});
