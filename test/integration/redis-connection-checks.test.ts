import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentProcess, CLI_PATH, spawnAgent, waitForLog } from '../helpers/agent-process.js';
import { createTestPrefix, findFreePort } from '../helpers/redis.js';
import { type RedisProcess, spawnRedis } from '../helpers/redis-topologies.js';

/**
 * How the CLI and agents meet a real Redis that is set up as in production (ACL users, passwords) or set up wrong:
 * one clear line each, never a stack trace, never "this is a bug", never a password.
 */
const PASSWORD = 's3cret-pw-1b2c';
const prefix = createTestPrefix('redis-checks');
let acl: RedisProcess;
let cluster: RedisProcess;
const processes: RedisProcess[] = [];
const agents: AgentProcess[] = [];

function cli(...args: string[]) {
  return cliWith({}, ...args);
}

function cliWith(env: Record<string, string>, ...args: string[]) {
  const result = spawnSync(process.execPath, [CLI_PATH, ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function expectOneLine(run: { code: number | null; stderr: string }, code: string, message: RegExp): void {
  expect(run.code).toBe(1);
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^fleet-rollout: ${code}: `));
  expect(lines[0]).toMatch(message);
  expect(run.stderr).not.toContain(PASSWORD);
  expect(run.stderr).not.toContain('FR_ERR_INTERNAL');
}

beforeAll(async () => {
  // ACL: `fleet` may do everything on its keys; `reader` may connect but run almost nothing.
  acl = await spawnRedis(
    [
      '--user',
      'default',
      'on',
      '>admin-pw-9z',
      '~*',
      '&*',
      '+@all',
      '--user',
      'fleet',
      'on',
      `>${PASSWORD}`,
      '~*',
      '&*',
      '+@all',
      '--user',
      'reader',
      'on',
      `>${PASSWORD}`,
      '+ping',
      '+info',
      '+select',
      '+hello',
      '+client',
      '+config|get',
    ],
    { password: 'admin-pw-9z' },
  );
  cluster = await spawnRedis(['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf']);
  processes.push(acl, cluster);
}, 30_000);

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop('SIGKILL')));
  for (const p of processes) await p.stop();
});

describe('Redis connection checks', () => {
  it('an ACL user and password work (redis://user:password@host:port)', () => {
    const run = cli(
      'campaigns',
      '--redis-url',
      `redis://fleet:${PASSWORD}@127.0.0.1:${acl.port}/2`,
      '--prefix',
      prefix,
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('no campaigns');
  });

  it('the password may come from REDIS_PASSWORD_FILE (a mounted secret), never from the URL or the command line', () => {
    const file = join(acl.dir, 'redis_password');
    writeFileSync(file, `${PASSWORD}\n`);
    const url = `redis://fleet@127.0.0.1:${acl.port}`;
    const run = cliWith({ REDIS_PASSWORD_FILE: file }, 'campaigns', '--redis-url', url, '--prefix', prefix);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expectOneLine(
      cliWith({ REDIS_PASSWORD_FILE: join(acl.dir, 'missing') }, 'campaigns', '--redis-url', url),
      'FR_ERR_REDIS_URL_INVALID',
      /REDIS_PASSWORD_FILE cannot be read \(ENOENT\)/,
    );
  });

  it('a wrong or missing password says "authentication failed", without the password', () => {
    const wrong = cli(
      'campaigns',
      '--redis-url',
      `redis://fleet:${PASSWORD}x@127.0.0.1:${acl.port}`,
      '--prefix',
      prefix,
    );
    expectOneLine(wrong, 'FR_ERR_REDIS_AUTH_FAILED', /Redis authentication failed at redis:\/\/127\.0\.0\.1:\d+/);
    const none = cli('campaigns', '--redis-url', `redis://127.0.0.1:${acl.port}`, '--prefix', prefix);
    expectOneLine(none, 'FR_ERR_REDIS_AUTH_FAILED', /authentication failed/);
  });

  it('an out-of-range or non-numeric database is refused (data would land in db 0)', () => {
    const base = `redis://fleet:${PASSWORD}@127.0.0.1:${acl.port}`;
    expectOneLine(
      cli('campaigns', '--redis-url', `${base}/99`),
      'FR_ERR_REDIS_URL_INVALID',
      /has no database 99 \(it has 16: 0 to 15\)/,
    );
    expectOneLine(
      cli('campaigns', '--redis-url', `${base}/notanumber`),
      'FR_ERR_REDIS_URL_INVALID',
      /must be a number .*not "notanumber"/,
    );
    expectOneLine(cli('campaigns', '--redis-url', 'http://127.0.0.1:6379'), 'FR_ERR_REDIS_URL_INVALID', /scheme http:/);
  });

  it('a Redis error in the middle of a command names Redis, not an internal bug', () => {
    const run = cli('campaigns', '--redis-url', `redis://reader:${PASSWORD}@127.0.0.1:${acl.port}`, '--prefix', prefix);
    expectOneLine(
      run,
      'FR_ERR_REDIS_COMMAND_FAILED',
      /^fleet-rollout: FR_ERR_REDIS_COMMAND_FAILED: Redis refused a command: NOPERM .*ACL user lacks a permission/,
    );
  });

  it('Redis Cluster is refused at start with one line, by the CLI and by an agent', async () => {
    const url = `redis://127.0.0.1:${cluster.port}`;
    expectOneLine(
      cli('campaigns', '--redis-url', url),
      'FR_ERR_REDIS_URL_INVALID',
      /runs in Cluster mode, which fleet-rollout does not support/,
    );
    const agent = spawnAgent(url, prefix, ['--transport', 'local']);
    agents.push(agent);
    expect(await agent.exited).toBe(1);
    expect(agent.output()).toMatch(/^fleet-rollout: FR_ERR_REDIS_URL_INVALID: .*Cluster mode/m);
  });

  it('an agent waiting for Redis says so every few seconds, then starts when Redis comes', {
    timeout: 60_000,
  }, async () => {
    const port = await findFreePort();
    const agent = spawnAgent(`redis://127.0.0.1:${port}`, prefix, ['--transport', 'local']);
    agents.push(agent);
    const waits = () =>
      agent.output().match(/waiting for Redis at redis:\/\/127\.0\.0\.1:\d+ \(connect ECONNREFUSED/g) ?? [];
    while (waits().length < 2) {
      expect(agent.child.exitCode).toBeNull();
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(agent.output()).not.toContain('agent started');
    processes.push(await spawnRedis([], { port }));
    await waitForLog(agent, 'agent started');
    expect(agent.output()).toMatch(/Redis at redis:\/\/127\.0\.0\.1:\d+ answers after \d+ s/);
    expect(await agent.stop()).toBe(0);
  });
});
