import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Real OpenSSH sshd daemons on loopback for the SSH tests and the benchmark (no fake SSH layer).
 * Logs in as the dedicated account `fleet-test` (shell /bin/sh, no rc files: DESIGN §6).
 */
export const SSHD_PATH = '/usr/sbin/sshd';
export const TEST_LOGIN = 'fleet-test';

export interface TestAccount {
  readonly login: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

let knownAccount: TestAccount | undefined;

/**
 * Creates `fleet-test` when running as root and it is missing (what .ci/run does), and unlocks key logins.
 * Checked once per process: a benchmark makes hundreds of workstations, each of which asks.
 */
export function ensureTestAccount(): TestAccount {
  knownAccount ??= findOrCreateTestAccount();
  return knownAccount;
}

function findOrCreateTestAccount(): TestAccount {
  if (!existsSync(SSHD_PATH)) {
    throw new Error(`${SSHD_PATH} is missing: install openssh-server (apt-get install openssh-server) — .ci/run does`);
  }
  const exists = (): boolean => {
    try {
      execFileSync('id', [TEST_LOGIN], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (!exists()) {
    if (process.getuid?.() !== 0)
      throw new Error(`account ${TEST_LOGIN} is missing (run .ci/run, or the tests as root)`);
    execFileSync('useradd', ['--create-home', '--shell', '/bin/sh', TEST_LOGIN], { stdio: 'ignore' });
  }
  if (process.getuid?.() === 0) execFileSync('usermod', ['-p', '*', TEST_LOGIN], { stdio: 'ignore' });
  const uid = Number(execFileSync('id', ['-u', TEST_LOGIN]).toString().trim());
  const gid = Number(execFileSync('id', ['-g', TEST_LOGIN]).toString().trim());
  const home = execFileSync('getent', ['passwd', TEST_LOGIN]).toString().trim().split(':')[5] ?? `/home/${TEST_LOGIN}`;
  return { login: TEST_LOGIN, uid, gid, home };
}

export async function makeTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  // sshd reads authorized_keys as the login user; the login writes staging/workstation dirs below.
  await chmod(dir, 0o755);
  return dir;
}

/** ssh-keygen; returns the private key path and the public key line. */
export async function generateKey(dir: string, name: string, passphrase = '', type = 'ed25519'): Promise<ClientKey> {
  const path = join(dir, name);
  await rm(path, { force: true });
  await rm(`${path}.pub`, { force: true });
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', passphrase, '-C', name, '-f', path], { stdio: 'ignore' });
  const publicLine = (await readFile(`${path}.pub`, 'utf8')).trim();
  return { path, publicLine };
}

export interface ClientKey {
  readonly path: string;
  /** `ssh-ed25519 AAAA... comment` */
  readonly publicLine: string;
}

/** A free TCP port on `host` (bind :0, read it, close). */
export async function findFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface SshdEndpoint {
  readonly host: string;
  readonly port: number;
}

export interface SshdOptions {
  /** Loopback addresses (127.0.0.2 …), one per simulated workstation; at most 16 per daemon (OpenSSH 9.2). */
  readonly addresses: readonly string[];
  readonly passwordAuthentication?: boolean;
  /** Extra sshd_config lines (e.g. a larger MaxStartups for the benchmark). */
  readonly extraConfig?: readonly string[];
}

export class Sshd {
  private child: ChildProcess | undefined;
  private readonly logLines: string[] = [];
  hostKey!: ClientKey;

  private constructor(
    readonly dir: string,
    readonly endpoints: readonly SshdEndpoint[],
    private readonly options: SshdOptions,
  ) {}

  static async create(options: SshdOptions): Promise<Sshd> {
    if (options.addresses.length > 16) throw new Error('sshd accepts at most 16 ListenAddress: start several daemons');
    ensureTestAccount();
    await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
    const dir = await makeTempDir('fleet-sshd-');
    await mkdir(join(dir, 'authorized'), { mode: 0o755 });
    const endpoints: SshdEndpoint[] = [];
    for (const host of options.addresses) endpoints.push({ host, port: await findFreePort(host) });
    const sshd = new Sshd(dir, endpoints, options);
    try {
      await sshd.replaceHostKey();
      await sshd.start();
    } catch (error) {
      // The folder holds the daemon's private host key: never leave it behind.
      await sshd.close();
      throw error;
    }
    return sshd;
  }

  /** The listening daemon's pid (benchmarks read its CPU time and that of its reaped session processes). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  get configPath(): string {
    return join(this.dir, 'sshd_config');
  }

  /** Lines sshd logged (-e: to stderr), e.g. "Accepted publickey for fleet-test …". */
  logs(): string[] {
    return [...this.logLines];
  }

  /** A known_hosts line for one endpoint (`[host]:port keytype base64`). */
  knownHostsLine(endpoint: SshdEndpoint): string {
    const [type, base64] = this.hostKey.publicLine.split(' ');
    return `[${endpoint.host}]:${endpoint.port} ${type} ${base64}`;
  }

  async authorize(publicLines: readonly string[]): Promise<void> {
    await writeFile(join(this.dir, 'authorized', TEST_LOGIN), `${publicLines.join('\n')}\n`, { mode: 0o644 });
  }

  /** New host key (takes effect at the next start): the "host key replaced" case. */
  async replaceHostKey(): Promise<void> {
    this.hostKey = await generateKey(this.dir, 'host_ed25519', '', 'ed25519');
  }

  async start(): Promise<void> {
    if (this.child) return;
    const lines = [
      ...this.endpoints.map((e) => `ListenAddress ${e.host}:${e.port}`),
      `HostKey ${this.hostKey.path}`,
      `PidFile ${join(this.dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(this.dir, 'authorized')}/%u`,
      'StrictModes no',
      'UsePAM no',
      `PasswordAuthentication ${this.options.passwordAuthentication ? 'yes' : 'no'}`,
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      `AllowUsers ${TEST_LOGIN}`,
      'Subsystem sftp internal-sftp',
      'LogLevel INFO',
      ...(this.options.extraConfig ?? []),
    ];
    await writeFile(this.configPath, `${lines.join('\n')}\n`);
    const child = spawn(SSHD_PATH, ['-D', '-e', '-f', this.configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    let buffered = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      this.logLines.push(...parts);
    });
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    await Promise.all(this.endpoints.map((e) => waitForListen(e, () => this.child === child)));
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }

  /** Kills the per-connection sshd processes (children of the listener): cuts every open session. */
  killSessions(): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    // A session is two processes: the privileged monitor (the listener's child) and the network-facing child under
    // it. Killing only the monitor leaves the child holding the TCP connection until it next asks the monitor, so
    // the client would not see the connection close: kill the grandchildren first.
    let children: string[] = [];
    try {
      children = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
        .split('\n')
        .filter(Boolean);
    } catch {
      return; // no session open
    }
    for (const child of children) {
      try {
        execFileSync('pkill', ['-KILL', '-P', child], { stdio: 'ignore' });
      } catch {
        // a monitor without a child (authentication not finished)
      }
    }
    try {
      execFileSync('pkill', ['-KILL', '-P', String(pid)], { stdio: 'ignore' });
    } catch {
      // the sessions ended meanwhile
    }
  }

  async close(): Promise<void> {
    this.killSessions();
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

async function waitForListen(endpoint: SshdEndpoint, alive: () => boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (!alive()) throw new Error(`sshd exited before listening on ${endpoint.host}:${endpoint.port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect({ host: endpoint.host, port: endpoint.port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`sshd did not listen on ${endpoint.host}:${endpoint.port}`);
}

/** A simulated workstation for one endpoint: staging dir + agent root, owned by the login. */
export interface Workstation {
  readonly staging: string;
  readonly root: string;
}

export async function makeWorkstation(baseDir: string, endpoint: SshdEndpoint): Promise<Workstation> {
  const account = ensureTestAccount();
  const home = join(baseDir, `ws-${endpoint.host}-${endpoint.port}`);
  const staging = join(home, 'staging');
  const root = join(home, 'root');
  for (const d of [home, staging, root]) {
    await mkdir(d, { recursive: true });
    await chown(d, account.uid, account.gid);
  }
  return { staging, root };
}
