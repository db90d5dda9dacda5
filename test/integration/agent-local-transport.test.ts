import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FleetError } from '../../src/errors/index.js';
import { createLocalTransport } from '../../src/transport/local/local-transport.js';
import type { ApplyRequest, DeployTarget } from '../../src/transport/transport.js';
import { DEFAULT_SCRIPT_PATH } from '../../src/workers/transport-registry.js';
import { failureOf } from '../helpers/failure.js';
import { writeFault } from '../helpers/pipeline-campaign.js';

const root = mkdtempSync(join(tmpdir(), 'fleet-local-'));
const transport = createLocalTransport({ root, scriptPath: DEFAULT_SCRIPT_PATH });
afterAll(() => rmSync(root, { recursive: true, force: true }));

const target = (host: string): DeployTarget => ({
  host,
  port: 22,
  login: 'fleet-deploy',
  targetOs: 'posix',
  stagingDir: '/var/tmp/fleet-rollout',
});

function request(host: string, user: string, text = `[General]\r\nProfileName=${user}\r\n`): ApplyRequest {
  const bytes = new TextEncoder().encode(text);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return {
    campaign: 'c1',
    user,
    office: '11.0',
    artifact: { fileName: `${user}.prf`, bytes, sha256 },
    target: target(host),
    signal: new AbortController().signal,
  };
}

const setupDir = (host: string, user: string) =>
  join(root, host, 'registry', user, 'Software/Microsoft/Office/11.0/Outlook/Setup');

describe('local transport', () => {
  it('stages the PRF atomically, runs the POSIX agent and answers already-applied the second time', async () => {
    const req = request('ws-1', 'jdoe');
    const first = await transport.apply(req);
    expect(first).toMatchObject({ status: 'applied', officeVersion: '11.0', checksum: req.artifact.sha256 });
    const staged = join(root, 'ws-1', 'var/tmp/fleet-rollout', 'c1');
    expect(readdirSync(staged)).toEqual(['jdoe.backup.reg', 'jdoe.prf']); // no .tmp left behind
    expect(readFileSync(join(staged, 'jdoe.prf'))).toEqual(Buffer.from(req.artifact.bytes));
    expect(readFileSync(join(setupDir('ws-1', 'jdoe'), 'ImportPRF'), 'utf8').trim()).toBe(join(staged, 'jdoe.prf'));
    expect((await transport.apply(req)).status).toBe('already-applied');
  });

  it('passes a user name with quotes, spaces and accents as one argument (no shell)', async () => {
    const user = `Zoé O'Brien "$(touch pwned)"`;
    expect((await transport.apply(request('ws-2', user))).status).toBe('applied');
    expect(existsSync(join(setupDir('ws-2', user), 'FleetRolloutChecksum'))).toBe(true);
    expect(existsSync('pwned')).toBe(false);
  });

  it('rolls back to the values saved before the campaign', async () => {
    await transport.apply(request('ws-3', 'amy'));
    expect(existsSync(join(setupDir('ws-3', 'amy'), 'ImportPRF'))).toBe(true);
    const rolled = await transport.rollback({ ...request('ws-3', 'amy'), fileName: 'amy.prf' });
    expect(rolled.status).toBe('rolled-back');
    expect(existsSync(join(setupDir('ws-3', 'amy'), 'ImportPRF'))).toBe(false);
  });

  it('turns exit 75 into a transient failure carrying exit code and stderr', async () => {
    writeFault(root, 'ws-busy', ['exit=75']);
    const error = await failureOf(transport.apply(request('ws-busy', 'bob')));
    expect([error.code, error.retryable, error.details['exitCode']]).toEqual(['FR_ERR_REMOTE_TEMPORARY', true, 75]);
    expect(error.details['stderrTail']).toContain('fault switch: exit 75');
  });

  it('kills a hung apply when the signal fires and reports the abort reason', async () => {
    writeFault(root, 'ws-hang', ['hang=1']);
    const controller = new AbortController();
    const pending = transport.apply({ ...request('ws-hang', 'carl'), signal: controller.signal });
    setTimeout(() => controller.abort(new FleetError('FR_ERR_TRANSPORT_TIMEOUT', 'no answer within 0.3 s')), 300);
    const error = await failureOf(pending);
    expect([error.code, error.retryable, error.details['host']]).toEqual(['FR_ERR_TRANSPORT_TIMEOUT', true, 'ws-hang']);
  });

  it('refuses a host name that would leave the root directory', async () => {
    const error = await failureOf(transport.apply(request('../escape', 'dan')));
    expect(error.code).toBe('FR_ERR_ROW_FIELD_INVALID');
    expect(existsSync(join(root, '..', 'escape'))).toBe(false);
  });

  it('with apply noop touches no workstation and answers applied (benchmarks)', async () => {
    const noop = createLocalTransport({ root, scriptPath: DEFAULT_SCRIPT_PATH, apply: 'noop' });
    const req = request('ws-noop', 'eve');
    expect(await noop.apply(req)).toMatchObject({ status: 'applied', checksum: req.artifact.sha256 });
    expect(existsSync(join(root, 'ws-noop'))).toBe(false);
  });
});
