import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { delimiter, join, resolve } from 'node:path';

/** One line for people without Redis. */
export const REDIS_INSTALL_HINT =
  'no Redis answers on 127.0.0.1:6379 and there is no redis-server on PATH: install one (`apt-get install redis-server`, `brew install redis`) or run `docker compose up -d redis`, or set REDIS_URL';

/** redis-server on PATH, if any. */
export function findRedisServer(path = process.env['PATH'] ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'redis-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Does something answer PING on host:port? (raw RESP, no client library, short timeout) */
export function probeRedis(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host, port });
    const finish = (ok: boolean): void => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => finish(data.toString().startsWith('+PONG') || data.toString().startsWith('-NOAUTH')));
  });
}

function findFreePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => done(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface EmbeddedRedis {
  readonly url: string;
  /** Process id of the redis-server (benchmarks read its CPU time). */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

/**
 * A private redis-server for the demo: loopback only, AOF on (the store of record survives a restart),
 * noeviction, data under `dir`. It is stopped by stop() and, as a last resort, when this process exits.
 */
export async function startEmbeddedRedis(binary: string, dir: string): Promise<EmbeddedRedis> {
  const dataDir = resolve(dir);
  mkdirSync(dataDir, { recursive: true });
  const port = await findFreePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dataDir, '--appendonly', 'yes'];
  args.push('--save', '', '--maxmemory-policy', 'noeviction', '--protected-mode', 'yes');
  const child: ChildProcess = spawn(binary, args, { stdio: 'ignore' });
  const killOnExit = (): void => {
    child.kill('SIGTERM');
  };
  process.once('exit', killOnExit);
  let ready = false;
  for (let i = 0; i < 100 && !ready && child.exitCode === null; i++) {
    ready = await probeRedis('127.0.0.1', port, 200);
    if (!ready) await new Promise((r) => setTimeout(r, 50));
  }
  if (!ready) {
    child.kill('SIGKILL');
    throw new Error(`redis-server did not start (data dir ${dataDir})`);
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    pid: child.pid,
    stop: () =>
      new Promise<void>((done) => {
        process.off('exit', killOnExit);
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}
