import { describe, expect, it } from 'vitest';
import { FleetError } from '../../src/errors/index.js';
import { interpretRemoteRun, STDERR_TAIL_BYTES, tailOf } from '../../src/rollout/remote-result.js';

const sha = 'a'.repeat(64);

function failureOf(run: { exitCode: number; stdout: string; stderr: string }): FleetError {
  try {
    interpretRemoteRun(run, 'ws-1');
  } catch (error) {
    if (error instanceof FleetError) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

describe('interpretRemoteRun (remote contract, DESIGN §3)', () => {
  it('reads the result from the last stdout line, ignoring chatter before it', () => {
    const stdout = `loading hive\nbacking up\n{"status":"applied","officeVersion":"11.0","backup":"C:/b.reg","checksum":"${sha}"}\r\n\n`;
    expect(interpretRemoteRun({ exitCode: 0, stdout, stderr: '' }, 'ws-1')).toEqual({
      status: 'applied',
      officeVersion: '11.0',
      backup: 'C:/b.reg',
      checksum: sha,
    });
  });

  it('treats already-applied and rolled-back as successes', () => {
    for (const status of ['already-applied', 'rolled-back'] as const) {
      expect(interpretRemoteRun({ exitCode: 0, stdout: `{"status":"${status}"}`, stderr: '' }, 'h').status).toBe(
        status,
      );
    }
  });

  it('maps the sysexits codes to transient (75) and permanent (65, 69, 77) failures', () => {
    const cases = [
      [75, 'FR_ERR_REMOTE_TEMPORARY', 'transient'],
      [65, 'FR_ERR_REMOTE_BAD_ARTIFACT', 'permanent'],
      [69, 'FR_ERR_REMOTE_UNAVAILABLE', 'permanent'],
      [77, 'FR_ERR_REMOTE_PERMISSION', 'permanent'],
      [1, 'FR_ERR_REMOTE_FAILED', 'permanent'],
      [137, 'FR_ERR_REMOTE_FAILED', 'permanent'],
    ] as const;
    for (const [exitCode, code, failureClass] of cases) {
      const error = failureOf({ exitCode, stdout: '', stderr: 'boom' });
      expect([error.code, error.failureClass, error.details['exitCode']]).toEqual([code, failureClass, exitCode]);
    }
  });

  it("keeps the script's own message and the stderr tail with the failure", () => {
    const error = failureOf({
      exitCode: 75,
      stdout: '{"status":"error","message":"Outlook is running"}',
      stderr: 'hive locked\n',
    });
    expect(error.message).toBe('Outlook is running (exit 75)');
    expect(error.details).toMatchObject({ host: 'ws-1', stderrTail: 'hive locked\n' });
  });

  it('names the exit code once when the message already says it (no "exit 77 (exit 77)")', () => {
    const said = failureOf({
      exitCode: 77,
      stdout: '{"status":"error","message":"fault switch: exit 77"}',
      stderr: '',
    });
    expect(said.message).toBe('fault switch: exit 77');
    const other = failureOf({ exitCode: 77, stdout: '{"status":"error","message":"exit 7 of helper"}', stderr: '' });
    expect(other.message).toBe('exit 7 of helper (exit 77)');
  });

  it('refuses a zero exit without a result line (a broken script is not a success)', () => {
    for (const stdout of ['', 'done', '{"status":"maybe"}', '["applied"]', '{"status":"applied"} trailing']) {
      expect(failureOf({ exitCode: 0, stdout, stderr: '' }).code).toBe('FR_ERR_REMOTE_PROTOCOL');
    }
  });

  it('keeps at most 2 KB of stderr, the end of it, with control characters escaped', () => {
    const stderr = `${'x'.repeat(5000)}\u001b[31mred\u0007 end`;
    const tail = failureOf({ exitCode: 1, stdout: '', stderr }).details['stderrTail'] as string;
    expect(tail.endsWith('\\x1b[31mred\\x07 end')).toBe(true);
    expect(tail.length).toBeLessThanOrEqual(STDERR_TAIL_BYTES + 16);
    expect(tailOf('line1\n\tline2')).toBe('line1\n\tline2');
  });

  it('prefers the JSON "exit" over the process code (powershell -c turns every non-zero code into 1)', () => {
    const busy = failureOf({
      exitCode: 1,
      stdout: '{"status":"error","exit":75,"message":"Outlook is running"}',
      stderr: '',
    });
    expect([busy.code, busy.retryable, busy.details['exitCode']]).toEqual(['FR_ERR_REMOTE_TEMPORARY', true, 75]);
    const ok = interpretRemoteRun(
      { exitCode: 1, stdout: `{"status":"applied","exit":0,"checksum":"${sha}"}`, stderr: '' },
      'h',
    );
    expect(ok.status).toBe('applied');
    // A nonsense "exit" is ignored: the process code stands.
    expect(failureOf({ exitCode: 75, stdout: '{"status":"error","exit":"0"}', stderr: '' }).code).toBe(
      'FR_ERR_REMOTE_TEMPORARY',
    );
    const codes = [
      [71, 'FR_ERR_REMOTE_HIVE_UNLOAD_FAILED'],
      [74, 'FR_ERR_REMOTE_BACKUP_FAILED'],
      [78, 'FR_ERR_REMOTE_STAGING_UNSAFE'],
    ] as const;
    for (const [exit, code] of codes) {
      expect(failureOf({ exitCode: 1, stdout: `{"status":"error","exit":${exit}}`, stderr: '' }).code).toBe(code);
    }
  });

  it('accepts the new outcomes applied-pending-restart and nothing-to-restore', () => {
    for (const status of ['applied-pending-restart', 'nothing-to-restore'] as const) {
      expect(
        interpretRemoteRun({ exitCode: 0, stdout: `{"status":"${status}","exit":0}`, stderr: '' }, 'h').status,
      ).toBe(status);
    }
  });

  it('refuses hostile or malformed fields instead of storing them, quoting them escaped', () => {
    const hostile = '{"status":"applied","officeVersion":"=1+1\\u0000\\n","backup":"\\u001b[31mred"}';
    const error = failureOf({ exitCode: 0, stdout: hostile, stderr: '' });
    expect(error.code).toBe('FR_ERR_REMOTE_PROTOCOL');
    expect(error.message).toBe('workstation sent an invalid officeVersion: "=1+1\\x00\\n"');
    const cases = [
      '{"status":"applied","officeVersion":"13.0"}',
      '{"status":"applied","backup":"\\u001b[31mred"}',
      '{"status":"applied","backup":"\\u009b31m"}',
      `{"status":"applied","backup":"${'C:\\\\'.repeat(600)}"}`,
      '{"status":"applied","backup":42}',
      '{"status":"applied","checksum":"ABC"}',
    ];
    for (const stdout of cases) {
      const failure = failureOf({ exitCode: 0, stdout, stderr: '' });
      expect(failure.code, stdout).toBe('FR_ERR_REMOTE_PROTOCOL');
      expect(failure.message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
    }
    const message = failureOf({
      exitCode: 77,
      stdout: '{"status":"error","message":"\\u001b]0;pwned\\u0007"}',
      stderr: '',
    });
    expect(message.message).toBe('\\x1b]0;pwned\\x07 (exit 77)');
  });

  it('strips the CLIXML PowerShell 5.1 writes to stderr under -EncodedCommand, keeping the error text', () => {
    const clixml =
      '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04"><Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject</T></TN></Obj><S S="Error">apply-profile: Outlook is running_x000D__x000A_</S></Objs>\r\n';
    expect(tailOf(clixml).trimEnd()).toBe('apply-profile: Outlook is running');
    expect(tailOf(clixml)).not.toContain('CLIXML');
  });
});
