import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { RedisOptions } from 'ioredis';
import { FleetError } from '../errors/index.js';

/**
 * REDIS_URL (+ environment) → ioredis options. Forms (docs/security.md, README "Production"):
 * - `redis://[user:password@]host:port[/db]` — ACL user + password (or `:password@` for requirepass); the password
 *   may come from `REDIS_PASSWORD_FILE` instead (a mounted secret);
 * - `rediss://…` — TLS; `REDIS_TLS_CA_FILE` names a CA bundle (PEM) when the server's certificate is not signed by a
 *   public CA;
 * - `redis+sentinel://[user:password@]s1:26379,s2:26379,…/<master>[/db]` — Sentinel; or `REDIS_SENTINELS=s1:26379,…`
 *   (+ `REDIS_SENTINEL_MASTER`, default `mymaster`) with REDIS_URL giving user, password, db and TLS of the master.
 *   `REDIS_SENTINEL_PASSWORD` (and `REDIS_SENTINEL_USERNAME`) authenticate to the sentinels.
 * Redis Cluster is refused at connection time (connection.ts). Only types are imported from ioredis (no load cost).
 */
export interface RedisSettings {
  readonly options: RedisOptions;
  /** Database index asked for (checked against the server at connection time). */
  readonly db: number;
  /** Where, without user name or password: for messages and logs. */
  readonly where: string;
}

type Env = Readonly<Record<string, string | undefined>>;

function invalid(message: string): FleetError {
  return new FleetError('FR_ERR_REDIS_URL_INVALID', message);
}

function parseDb(path: string, where: string): number {
  const text = path.replace(/^\/+/, '').replace(/\/+$/, '');
  if (text === '') return 0;
  if (!/^\d{1,5}$/.test(text)) {
    throw invalid(
      `${where}: the database after the last / must be a number (0 to 15 on a default Redis), not "${text}"`,
    );
  }
  return Number(text);
}

function parseHostPort(text: string, defaultPort: number): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:/]+))(?::(\d{1,5}))?$/.exec(text.trim());
  const host = match?.[1] ?? match?.[2];
  const port = match?.[3] === undefined ? defaultPort : Number(match[3]);
  if (!host || port < 1 || port > 65535) throw invalid(`"${text}" is not host:port`);
  return { host, port };
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw invalid('the user name or password in the Redis URL is not valid percent-encoding');
  }
}

/** `REDIS_PASSWORD_FILE` (a Docker/Kubernetes secret): the password stays out of the URL, the environment and `ps`. */
function passwordFromFile(env: Env): string {
  const file = env['REDIS_PASSWORD_FILE'];
  if (!file) return '';
  try {
    return (readFileSync(file, 'utf8').split(/\r?\n/)[0] ?? '').trim();
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'read error';
    throw invalid(`REDIS_PASSWORD_FILE cannot be read (${reason}): ${file}`);
  }
}

function tlsOptions(host: string, env: Env): RedisOptions['tls'] {
  // SNI carries names only (RFC 6066); the certificate is still checked against an IP address.
  const sni = isIP(host) === 0 ? { servername: host } : {};
  const caFile = env['REDIS_TLS_CA_FILE'];
  if (!caFile) return sni;
  try {
    return { ...sni, ca: readFileSync(caFile) };
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? 'read error';
    throw invalid(`REDIS_TLS_CA_FILE cannot be read (${reason}): ${caFile}`);
  }
}

/** Reconnect and resend after a failover made our node a replica (READONLY) or while it loads its data set. */
function reconnectOnError(error: Error): 2 | false {
  return /^(READONLY|LOADING|MASTERDOWN)/.test(error.message) ? 2 : false;
}

function sentinelOptions(
  sentinels: Array<{ host: string; port: number }>,
  name: string,
  auth: { username?: string; password?: string },
  db: number,
  env: Env,
  tls: RedisOptions['tls'] | undefined,
): RedisOptions {
  return {
    sentinels,
    name,
    db,
    ...(auth.username && { username: auth.username }),
    ...(auth.password && { password: auth.password }),
    ...(env['REDIS_SENTINEL_USERNAME'] && { sentinelUsername: env['REDIS_SENTINEL_USERNAME'] }),
    ...(env['REDIS_SENTINEL_PASSWORD'] && { sentinelPassword: env['REDIS_SENTINEL_PASSWORD'] }),
    ...(tls && { tls }),
    // Not ioredis' failoverDetector: with it, agents that had lived through a failover never exited after SIGTERM
    // (its sentinel subscriptions outlive disconnect()). A demoted primary answers READONLY or drops the connection,
    // and reconnectOnError / the retry strategy ask the sentinels for the new primary: measured in the failover test.
    sentinelRetryStrategy: (times: number) => Math.min(100 * 2 ** Math.min(times, 6), 5_000),
    reconnectOnError,
  };
}

/** `redis+sentinel://[user:pass@]h1:26379,h2:26379/master[/db]` */
function parseSentinelUrl(url: string, env: Env): RedisSettings {
  const match = /^redis\+sentinel:\/\/(?:([^@/]*)@)?([^/]+)\/([^/]+)(\/.*)?$/.exec(url);
  if (!match) throw invalid('a Sentinel URL is redis+sentinel://[user:password@]host:26379,host:26379/<master>[/db]');
  const [, userinfo, hosts = '', name = '', dbPath = ''] = match;
  const [user = '', ...rest] = (userinfo ?? '').split(':');
  const auth = { username: decode(user), password: decode(rest.join(':')) || passwordFromFile(env) };
  const sentinels = hosts.split(',').map((h) => parseHostPort(h, 26379));
  const where = `redis+sentinel://${hosts}/${name}${dbPath}`;
  const db = parseDb(dbPath, where);
  return { options: sentinelOptions(sentinels, decode(name), auth, db, env, undefined), db, where };
}

export function resolveRedisSettings(url: string, env: Env = process.env): RedisSettings {
  if (url.startsWith('redis+sentinel://')) return parseSentinelUrl(url, env);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalid('the Redis URL cannot be parsed: use redis://[user:password@]host:port[/db]');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw invalid(`unsupported Redis URL scheme ${parsed.protocol} (use redis://, rediss:// or redis+sentinel://)`);
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = parsed.port === '' ? 6379 : Number(parsed.port);
  const where = `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  const db = parseDb(parsed.pathname, where);
  const auth = { username: decode(parsed.username), password: decode(parsed.password) || passwordFromFile(env) };
  const tls = parsed.protocol === 'rediss:' ? tlsOptions(host, env) : undefined;
  const sentinelList = env['REDIS_SENTINELS'];
  if (sentinelList) {
    const sentinels = sentinelList.split(',').map((h) => parseHostPort(h, 26379));
    const name = env['REDIS_SENTINEL_MASTER'] || 'mymaster';
    return {
      options: sentinelOptions(sentinels, name, auth, db, env, tls),
      db,
      where: `sentinels ${sentinelList} (master ${name})`,
    };
  }
  return {
    options: {
      host,
      port,
      db,
      ...(auth.username && { username: auth.username }),
      ...(auth.password && { password: auth.password }),
      ...(tls && { tls }),
      reconnectOnError,
    },
    db,
    where,
  };
}
