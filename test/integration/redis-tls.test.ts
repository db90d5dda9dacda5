import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_PATH } from '../helpers/agent-process.js';
import { createTestPrefix, findFreePort } from '../helpers/redis.js';

/** `rediss://` against a real redis-server speaking only TLS, its certificate signed by a CA of the test's own. */
const dir = mkdtempSync(join(tmpdir(), 'fleet-redis-tls-'));
const prefix = createTestPrefix('redis-tls');
let port: number;
let server: ChildProcess;

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
}

function cli(env: Record<string, string>, url: string) {
  const result = spawnSync(process.execPath, [CLI_PATH, 'campaigns', '--redis-url', url, '--prefix', prefix], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(async () => {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=fleet test CA');
  openssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1\n');
  openssl(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '2',
    '-extfile',
    'ext',
  );
  port = await findFreePort();
  server = spawn(
    'redis-server',
    ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''].concat(
      ['--tls-cert-file', 'server.crt', '--tls-key-file', 'server.key', '--tls-ca-cert-file', 'ca.crt'],
      ['--tls-auth-clients', 'no', '--maxmemory-policy', 'noeviction'],
    ),
    { cwd: dir, stdio: 'ignore' },
  );
  for (let i = 0; i < 100; i++) {
    if (cli({ REDIS_TLS_CA_FILE: join(dir, 'ca.crt') }, `rediss://127.0.0.1:${port}`).code === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('TLS redis-server did not start');
}, 60_000);

afterAll(async () => {
  if (server && server.exitCode === null) {
    await new Promise<void>((done) => {
      server.once('exit', () => done());
      server.kill('SIGKILL');
    });
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('Redis over TLS', () => {
  it('rediss:// with REDIS_TLS_CA_FILE connects and verifies the server certificate', () => {
    const run = cli({ REDIS_TLS_CA_FILE: join(dir, 'ca.crt') }, `rediss://127.0.0.1:${port}`);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('no campaigns');
  });

  it('without the CA the certificate is refused, in one line (never an unverified connection)', () => {
    const run = cli({}, `rediss://127.0.0.1:${port}`);
    expect(run.code).toBe(1);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^fleet-rollout: FR_ERR_REDIS_UNREACHABLE: .*certificate/);
  });

  it('an unreadable CA file is named', () => {
    const run = cli({ REDIS_TLS_CA_FILE: join(dir, 'nope.crt') }, `rediss://127.0.0.1:${port}`);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^fleet-rollout: FR_ERR_REDIS_URL_INVALID: REDIS_TLS_CA_FILE cannot be read \(ENOENT\)/);
  });
});
