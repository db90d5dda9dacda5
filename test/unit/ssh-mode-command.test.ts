import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildApplyCommand, CHECKSUM_MISMATCH_MARKER, quotePosix } from '../../src/transport/ssh/apply-command.js';
import {
  posixApplyPrelude,
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

/** Runs `sh -c <prelude> cat <prf>` in a scratch folder; `dirName` may hold characters sha256sum escapes. */
async function runPrelude(dirName: string, setup: { script: string; upload: string; expect?: string }) {
  const dir = join(await mkdtemp(join(tmpdir(), 'fleet-prelude-')), dirName);
  execFileSync('mkdir', ['-p', dir]);
  const files = { script: join(dir, 'apply-profile.sh'), tmp: join(dir, 'u.prf.tmp'), prf: join(dir, 'u.prf') };
  await writeFile(files.script, setup.script);
  await writeFile(files.tmp, setup.upload);
  const command = `${posixApplyPrelude(files, sha('script v1'), sha(setup.expect ?? setup.upload))} cat ${quotePosix(files.prf)}`;
  let exitCode = 0;
  let stdout: string;
  try {
    stdout = execFileSync('sh', ['-c', command], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch (error) {
    const failed = error as { status: number; stdout: string };
    exitCode = failed.status;
    stdout = failed.stdout;
  }
  const state = { exitCode, stdout, tmpLeft: existsSync(files.tmp), prfMade: existsSync(files.prf) };
  await rm(join(dir, '..'), { recursive: true, force: true });
  return state;
}

describe('the posix apply prelude (one sha256sum for the script and the upload)', () => {
  it('renames a verified upload and runs the command', async () => {
    const run = await runPrelude('plain', { script: 'script v1', upload: '[General]' });
    expect(run).toEqual({ exitCode: 0, stdout: '[General]', tmpLeft: false, prfMade: true });
  });

  it('answers exit 78 for a stale script and leaves the upload for the run after the push', async () => {
    const run = await runPrelude('stale', { script: 'script v0', upload: '[General]' });
    expect(run.exitCode).toBe(78);
    expect(run.stdout.trimEnd()).toBe(SCRIPT_CHANGED_LINE);
    expect(run.tmpLeft).toBe(true);
    expect(run.prfMade).toBe(false);
  });

  it('answers the mismatch marker and exit 65 for an upload that differs, and removes it', async () => {
    const run = await runPrelude('bad', { script: 'script v1', upload: '[General]', expect: 'other' });
    expect(run).toEqual({ exitCode: 65, stdout: `${CHECKSUM_MISMATCH_MARKER}\n`, tmpLeft: false, prfMade: false });
  });

  it('decides through the per-file checks when sha256sum escapes a name (backslash, quote)', async () => {
    const run = await runPrelude("o'b\\x", { script: 'script v1', upload: '[General]' });
    expect(run).toEqual({ exitCode: 0, stdout: '[General]', tmpLeft: false, prfMade: true });
  });
});
