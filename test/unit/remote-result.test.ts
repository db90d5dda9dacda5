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
});
