import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { findFreePort, waitForPing } from './redis.js';

/**
 * Redis processes of a test's own (real redis-server, real Sentinel): ACL users, Cluster mode, a primary with a
 * replica watched by three sentinels. Each lives in its own temp dir and port.
 */
export interface RedisProcess {
  readonly port: number;
  readonly dir: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** `redis-server` with `args` on a free port (or `port`), AOF on, noeviction. */
export async function spawnRedis(
  args: readonly string[] = [],
  options: { port?: number; password?: string; sentinel?: boolean } = {},
): Promise<RedisProcess> {
  const port = options.port ?? (await findFreePort());
  const dir = mkdtempSync(join(tmpdir(), 'fleet-redis-topo-'));
  let child: ChildProcess;
  if (options.sentinel) {
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(conf, `port ${port}\nbind 127.0.0.1\ndir ${dir}\n${args.join('\n')}\n`);
    child = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
  } else {
    const base = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''];
    const aof = ['--appendonly', 'yes', '--maxmemory-policy', 'noeviction'];
    child = spawn('redis-server', [...base, ...aof, ...args], { stdio: 'ignore' });
  }
  await waitForPing(`redis://${options.password ? `:${encodeURIComponent(options.password)}@` : ''}127.0.0.1:${port}`);
  return {
    port,
    dir,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        await new Promise<void>((done) => {
          child.once('exit', () => done());
          child.kill('SIGKILL');
        });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface SentinelSet {
  readonly primary: RedisProcess;
  readonly replica: RedisProcess;
  readonly sentinels: readonly RedisProcess[];
  /** `redis+sentinel://127.0.0.1:s1,…/<name>` */
  readonly url: string;
  readonly name: string;
  /** Port of the node the sentinels call primary now. */
  primaryPort(): Promise<number>;
  stop(): Promise<void>;
}

/** A primary, one replica and three sentinels (quorum 2), as in a small production set-up. */
export async function startSentinelSet(name = 'fleetmaster'): Promise<SentinelSet> {
  const primary = await spawnRedis();
  const replica = await spawnRedis(['--replicaof', '127.0.0.1', String(primary.port)]);
  const sentinels: RedisProcess[] = [];
  for (let i = 0; i < 3; i++) {
    sentinels.push(
      await spawnRedis(
        [
          `sentinel monitor ${name} 127.0.0.1 ${primary.port} 2`,
          `sentinel down-after-milliseconds ${name} 1000`,
          `sentinel failover-timeout ${name} 4000`,
          `sentinel parallel-syncs ${name} 1`,
        ],
        { sentinel: true },
      ),
    );
  }
  const url = `redis+sentinel://${sentinels.map((s) => `127.0.0.1:${s.port}`).join(',')}/${name}`;
  const set: SentinelSet = {
    primary,
    replica,
    sentinels,
    url,
    name,
    async primaryPort() {
      const client = new Redis({ port: sentinels[0]!.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
      client.on('error', () => {});
      try {
        const reply = (await client.call('SENTINEL', 'get-master-addr-by-name', name)) as string[];
        return Number(reply[1]);
      } finally {
        client.disconnect();
      }
    },
    async stop() {
      for (const process of [...sentinels, replica, primary]) await process.stop();
    },
  };
  // The sentinels must know the replica (and each other) before a failover can pick it.
  for (let i = 0; i < 200; i++) {
    const client = new Redis({ port: sentinels[0]!.port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
    client.on('error', () => {});
    const replicas = (await client.call('SENTINEL', 'replicas', name).catch(() => [])) as unknown[];
    const others = (await client.call('SENTINEL', 'sentinels', name).catch(() => [])) as unknown[];
    client.disconnect();
    if (replicas.length >= 1 && others.length >= 2) return set;
    await new Promise((r) => setTimeout(r, 100));
  }
  await set.stop();
  throw new Error('sentinels did not discover the replica and each other');
}
