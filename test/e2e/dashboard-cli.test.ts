import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_PATH } from '../helpers/agent-process.js';
import { connectTestRedis, createTestPrefix, deletePrefix, findFreePort, TEST_REDIS_URL } from '../helpers/redis.js';

/** `fleet-rollout dashboard` as a process: tokens from a file or the environment, never printed; the bind warning. */
const prefix = createTestPrefix('dash-cli');
const work = mkdtempSync(join(tmpdir(), 'fleet-e2e-dash-'));
const ADMIN = 'e2e-admin-token-0123456789abcdef';
const READONLY = 'e2e-readonly-token-0123456789abcdef';
const env = { ...process.env, REDIS_URL: TEST_REDIS_URL, FLEET_PREFIX: prefix, FLEET_DEBUG: '' };
let child: ChildProcess | undefined;

afterAll(async () => {
  child?.kill('SIGTERM');
  const redis = connectTestRedis();
  await deletePrefix(redis, prefix);
  redis.disconnect();
  rmSync(work, { recursive: true, force: true });
});

async function waitForHealth(base: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ok = await fetch(`${base}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error('the dashboard never answered /healthz');
    await new Promise((resume) => setTimeout(resume, 100));
  }
}

describe('fleet-rollout dashboard', () => {
  it('refuses to start without an admin token, or with a short one', () => {
    const none = spawnSync(process.execPath, [CLI_PATH, 'dashboard'], {
      encoding: 'utf8',
      env: { ...env, FLEET_DASHBOARD_TOKEN: '' },
    });
    expect(none.status).toBe(1);
    expect(none.stderr).toContain('FLEET_DASHBOARD_TOKEN');
    const short = spawnSync(process.execPath, [CLI_PATH, 'dashboard'], {
      encoding: 'utf8',
      env: { ...env, FLEET_DASHBOARD_TOKEN: 'short' },
    });
    expect(short.status).toBe(1);
    expect(short.stderr).toContain('at least 16 characters');
  });

  it('serves with tokens from a file and the environment, warns off loopback, and never prints a token', async () => {
    const tokenFile = join(work, 'token');
    writeFileSync(tokenFile, `# admin token\n${ADMIN}\n`, { mode: 0o600 });
    const port = await findFreePort();
    let output = '';
    child = spawn(
      process.execPath,
      [CLI_PATH, 'dashboard', '--bind', '0.0.0.0', '--port', String(port), '--token-file', tokenFile],
      { env: { ...env, FLEET_DASHBOARD_READONLY_TOKEN: READONLY, LOG_LEVEL: 'debug' } },
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const base = `http://127.0.0.1:${port}`;
    await waitForHealth(base);
    expect((await fetch(`${base}/api/campaigns`)).status).toBe(401);
    // The built package carries every page file (copied beside the compiled server).
    for (const path of ['/', '/app.js', '/app.css', '/js/campaign-page.js', '/js/users-table.js']) {
      expect((await fetch(`${base}${path}`)).status, path).toBe(200);
    }
    for (const [token, role] of [
      [ADMIN, 'admin'],
      [READONLY, 'read-only'],
    ]) {
      const login = await fetch(`${base}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: base },
        body: JSON.stringify({ token }),
      });
      expect(login.status).toBe(200);
      expect(await login.json()).toMatchObject({ role });
    }
    const exited = new Promise((resolve) => child?.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    child = undefined;
    expect(output).toMatch(/non-loopback address.*TLS or a reverse proxy/);
    expect(output).not.toContain(ADMIN);
    expect(output).not.toContain(READONLY);
  });
});
