import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { NodeSSH } from 'node-ssh';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetError } from '../../src/errors/index.js';
import { dialSsh } from '../../src/transport/ssh/dial.js';
import { createHostKeyVerifier, type HostKeyVerifier, parseKnownHosts } from '../../src/transport/ssh/index.js';
import { loadSshCredentials } from '../../src/transport/ssh/load-credentials.js';
import { DEFAULT_TIMEOUTS, type SshCredentials } from '../../src/transport/ssh/options.js';
import { MAX_OUTPUT_TOTAL_CHARS, SshConnection } from '../../src/transport/ssh/ssh-connection.js';
import { createSshTransport } from '../../src/transport/ssh/ssh-transport.js';
import { type ClientKey, generateKey, makeTempDir, makeWorkstation, Sshd, TEST_LOGIN } from '../helpers/sshd.js';

/**
 * node-ssh 13 defects measured against the transport's rules, each next to the workaround src/transport/ssh keeps on
 * top of the library (docs/architecture.md). Each test pins node-ssh's own behaviour too: when an upgrade fixes
 * one, its test fails and the workaround can go.
 */
let sshd: Sshd;
let busySshd: Sshd;
let dir: string;
let key: ClientKey;
let credentials: SshCredentials;
let hostKeys: HostKeyVerifier;
let closer: Server;
let closerPort: number;

beforeAll(async () => {
  dir = await makeTempDir('fleet-node-ssh-');
  key = await generateKey(dir, 'deploy_key');
  sshd = await Sshd.create({ addresses: ['127.0.0.2'] });
  busySshd = await Sshd.create({ addresses: ['127.0.0.3'], extraConfig: ['MaxSessions 1'] });
  for (const daemon of [sshd, busySshd]) await daemon.authorize([key.publicLine]);
  credentials = await loadSshCredentials({ keyPath: key.path });
  const lines = [
    ...sshd.endpoints.map((e) => sshd.knownHostsLine(e)),
    ...busySshd.endpoints.map((e) => busySshd.knownHostsLine(e)),
  ];
  hostKeys = createHostKeyVerifier({ knownHosts: parseKnownHosts(lines.join('\n')), policy: 'strict' });
  // A server that says its SSH banner, then closes as soon as the client speaks (what a MaxStartups drop or an
  // sshd killed mid-handshake looks like to the client).
  closer = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.write('SSH-2.0-OpenSSH_9.2\r\n');
    socket.once('data', () => socket.destroy());
  });
  await new Promise<void>((resolve) => closer.listen(0, '127.0.0.1', resolve));
  const address = closer.address();
  closerPort = typeof address === 'object' && address ? address.port : 0;
});

afterAll(async () => {
  await new Promise((resolve) => closer?.close(resolve));
  await sshd?.close();
  await busySshd?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function openConnection(): Promise<SshConnection> {
  const [endpoint] = sshd.endpoints;
  if (!endpoint) throw new Error('no endpoint');
  const ssh = await dialSsh({
    ...endpoint,
    login: TEST_LOGIN,
    credentials,
    hostKeys,
    timeouts: DEFAULT_TIMEOUTS,
    signal: new AbortController().signal,
  });
  return new SshConnection(ssh, endpoint.host, 10);
}

const run = (connection: SshConnection, command: string) =>
  connection.run(command, { signal: new AbortController().signal, timeoutMs: 30_000, step: 'apply' });

describe('node-ssh defects and their workarounds', () => {
  it('connect calls a server that closes mid-handshake a timeout (ETIMEDOUT); we classify it as a broken connection', async () => {
    const started = performance.now();
    const raw = await new NodeSSH()
      .connect({ host: '127.0.0.1', port: closerPort, username: TEST_LOGIN, readyTimeout: 20_000 })
      .then(
        () => undefined,
        (error: unknown) => error as { message: string; code?: unknown },
      );
    expect(raw).toMatchObject({ message: 'No response from server', code: 'ETIMEDOUT' });
    expect(performance.now() - started).toBeLessThan(5_000); // no timeout ever ran
    const error = await dialSsh({
      host: '127.0.0.1',
      port: closerPort,
      login: TEST_LOGIN,
      credentials,
      hostKeys,
      timeouts: DEFAULT_TIMEOUTS,
      signal: new AbortController().signal,
    }).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(FleetError);
    expect((error as FleetError).code).toBe('FR_ERR_SSH_CONNECTION_RESET');
  });

  it('execCommand decodes each chunk alone (a UTF-8 character cut between packets turns into U+FFFD); we do not', async () => {
    // One ASCII byte first, so every even-sized packet boundary falls inside a two-byte "é".
    const command = `awk 'BEGIN { printf "x"; for (i = 0; i < 60000; i++) printf "é" }'`;
    const expected = `x${'é'.repeat(60_000)}`;
    const ssh = await new NodeSSH().connect({
      host: sshd.endpoints[0]?.host,
      port: sshd.endpoints[0]?.port,
      username: TEST_LOGIN,
      privateKeyPath: key.path,
      hostVerifier: () => true,
    });
    try {
      const raw = await ssh.execCommand(command, { noTrim: true });
      expect(raw.stdout).not.toBe(expected);
      expect(raw.stdout).toContain('\ufffd');
    } finally {
      ssh.dispose();
    }
    const connection = await openConnection();
    try {
      const result = await run(connection, command);
      expect(result.exitCode).toBe(0);
      // Only the last 64 KiB of output is kept (the contract needs the last line); all of it decoded whole.
      expect(expected.endsWith(result.stdout)).toBe(true);
      expect(result.stdout).not.toContain('\ufffd');
    } finally {
      connection.end();
    }
  });

  it('execCommand keeps all output in memory until the command ends; we stop a command printing past the cap', async () => {
    const connection = await openConnection();
    try {
      const started = performance.now();
      const error = await run(connection, `head -c ${MAX_OUTPUT_TOTAL_CHARS * 4} /dev/zero | tr '\\0' x`).then(
        () => undefined,
        (failure: unknown) => failure,
      );
      expect(error).toBeInstanceOf(FleetError);
      expect(error).toMatchObject({
        code: 'FR_ERR_REMOTE_PROTOCOL',
        message: 'apply on 127.0.0.2 printed more than 16 MiB',
      });
      expect(performance.now() - started).toBeLessThan(25_000);
      // The connection stays usable for the other users of the host.
      expect(await run(connection, 'echo ok')).toMatchObject({ exitCode: 0, stdout: 'ok\n' });
    } finally {
      connection.end();
    }
  });
});

describe('sshd refusing a session past MaxSessions', () => {
  it('is "host busy" (transient, FR_ERR_SSH_HOST_BUSY), not a connection broken during apply', async () => {
    const [endpoint] = busySshd.endpoints;
    if (!endpoint) throw new Error('no endpoint');
    const ws = await makeWorkstation(dir, endpoint);
    const applyCommand = `sh {script} --campaign {campaign} --user {user} --prf {prf} --office {office} --checksum {checksum} --root '${ws.root}' {rollback}`;
    const applyAllowList = new Map([['stand-in', applyCommand]]);
    const transport = await createSshTransport({
      credentials,
      hostKeys,
      applyAllowList,
      timeouts: { commandMs: 20_000 },
    });
    try {
      const bytes = Buffer.from('[General]\r\nProfileName=alice\r\n');
      // The connection's SFTP session takes the only session sshd allows: the apply command's is refused.
      const error = await transport
        .apply({
          campaign: 'busy-host',
          user: 'alice',
          office: '11.0',
          artifact: { fileName: 'alice.prf', bytes, sha256: createHash('sha256').update(bytes).digest('hex') },
          target: {
            host: endpoint.host,
            port: endpoint.port,
            login: TEST_LOGIN,
            targetOs: 'posix',
            stagingDir: ws.staging,
            applyCommand,
          },
          signal: new AbortController().signal,
        })
        .then(
          () => undefined,
          (failure: unknown) => failure,
        );
      expect(error).toBeInstanceOf(FleetError);
      expect(error).toMatchObject({
        code: 'FR_ERR_SSH_HOST_BUSY',
        message: `${endpoint.host} refused another session during apply (sshd MaxSessions reached)`,
      });
      expect((error as FleetError).failureClass).toBe('transient');
    } finally {
      await transport.close();
    }
  });
});
