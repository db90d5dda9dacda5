import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withContext } from '../../src/cli/context.js';
import { assertEvictionPolicy, createRedisConnection } from '../../src/queue/connection.js';
import { findFreePort } from '../helpers/redis.js';

let child: ChildProcess | undefined;
let port = 0;
let dir = '';

async function startEvictingRedis(): Promise<void> {
  for (let attempt = 0; attempt < 5; attempt++) {
    port = 20_000 + Math.floor(Math.random() * 20_000);
    const server = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--maxmemory-policy', 'allkeys-lru'],
      { stdio: 'ignore' },
    );
    for (let i = 0; i < 50 && server.exitCode === null; i++) {
      const probe = new Redis(port, '127.0.0.1', {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      probe.on('error', () => {});
      try {
        await probe.connect();
        await probe.ping();
        probe.disconnect();
        child = server;
        return;
      } catch {
        probe.disconnect();
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    server.kill('SIGKILL'); // port taken: try another one
  }
  throw new Error('could not start a redis-server');
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleet-evict-'));
  await startEvictingRedis();
});

afterAll(async () => {
  const running = child;
  if (running && running.exitCode === null) {
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGTERM');
    });
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('Redis start-up checks', () => {
  it('refuses a Redis whose maxmemory-policy evicts keys, naming the policy and the way out', async () => {
    const redis = await createRedisConnection(`redis://127.0.0.1:${port}`, { role: 'cli' });
    try {
      const error = await assertEvictionPolicy(redis, { allowEviction: false }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'FR_ERR_REDIS_EVICTION_POLICY' });
      expect((error as Error).message).toContain('allkeys-lru');
      expect((error as Error).message).toContain('noeviction');
      const warnings: string[] = [];
      const allowed = await assertEvictionPolicy(redis, { allowEviction: true, warn: (m) => warnings.push(m) });
      expect(allowed).toEqual({ policy: 'allkeys-lru', ok: false });
      expect(warnings.join()).toContain('allkeys-lru');
    } finally {
      redis.disconnect();
    }
  });

  it('withContext refuses before running anything, unless eviction is allowed', async () => {
    const flags = { redisUrl: `redis://127.0.0.1:${port}`, prefix: 'evict-test', allowEviction: false };
    let ran = false;
    await expect(
      withContext(flags, async () => {
        ran = true;
      }),
    ).rejects.toMatchObject({ code: 'FR_ERR_REDIS_EVICTION_POLICY' });
    expect(ran).toBe(false);
    const campaigns = await withContext({ ...flags, allowEviction: true }, (context) => context.store.listCampaigns(), {
      warn: () => undefined,
    });
    expect(campaigns).toEqual([]);
  });

  it('fails fast when Redis is unreachable, without printing the password', async () => {
    const closed = await findFreePort();
    const error = await createRedisConnection(`redis://admin:s3cret-pw@127.0.0.1:${closed}/0`, { role: 'cli' }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'FR_ERR_REDIS_UNREACHABLE' });
    expect((error as Error).message).toContain(`127.0.0.1:${closed}`);
    expect((error as Error).message).not.toContain('s3cret-pw');
    expect(JSON.stringify(error)).not.toContain('s3cret-pw');
  });
});
