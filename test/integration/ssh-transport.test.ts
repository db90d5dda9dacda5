import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chown, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHostKeyVerifier, type HostKeyVerifier, parseKnownHosts } from '../../src/transport/ssh/index.js';
import { loadSshCredentials } from '../../src/transport/ssh/load-credentials.js';
import type { SshCredentials } from '../../src/transport/ssh/options.js';
import { createSshTransport, type SshTransport } from '../../src/transport/ssh/ssh-transport.js';
import type { DeployTarget } from '../../src/transport/transport.js';
import { failureOf } from '../helpers/failure.js';
import {
  ensureTestAccount,
  generateKey,
  makeTempDir,
  makeWorkstation,
  Sshd,
  type SshdEndpoint,
  type Workstation,
} from '../helpers/sshd.js';

const CAMPAIGN = 'spring-rollout';
const SETUP = 'Software/Microsoft/Office/11.0/Outlook/Setup';

let sshd: Sshd;
let dir: string;
let credentials: SshCredentials;
let hostKeys: HostKeyVerifier;
let transport: SshTransport;
const stations = new Map<SshdEndpoint, Workstation>();

function prf(text: string): { bytes: Buffer; sha256: string } {
  const bytes = Buffer.from(text, 'latin1');
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Target using the shipped script, with the simulated workstation root of that endpoint. */
function targetOf(endpoint: SshdEndpoint): DeployTarget {
  const ws = stations.get(endpoint)!;
  return {
    host: endpoint.host,
    port: endpoint.port,
    login: 'fleet-test',
    targetOs: 'posix',
    stagingDir: ws.staging,
    applyCommand: templateFor(ws),
  };
}

/** The stand-in needs its workstation root: a template each test agent allows (as --allow-apply-commands would). */
function templateFor(ws: Workstation): string {
  return `sh {script} --campaign {campaign} --user {user} --prf {prf} --office {office} --checksum {checksum} --root '${ws.root}' {rollback}`;
}

function allowList(): Map<string, string> {
  return new Map([...stations.values()].map((ws, i) => [`ws${i}`, templateFor(ws)]));
}

function applyAs(
  user: string,
  endpoint: SshdEndpoint,
  options: { text?: string; bytes?: Buffer; signal?: AbortSignal; via?: SshTransport } = {},
) {
  const artifact = options.bytes
    ? { bytes: options.bytes, sha256: createHash('sha256').update(options.bytes).digest('hex') }
    : prf(options.text ?? `[General]\r\nProfileName=${user}\r\n`);
  return (options.via ?? transport).apply({
    campaign: CAMPAIGN,
    user,
    office: '11.0',
    artifact: { fileName: `${user}.prf`, ...artifact },
    target: targetOf(endpoint),
    signal: options.signal ?? new AbortController().signal,
  });
}

/** `user` applied through `via` with the agent's default command: the script the transport pushes itself. */
function applyWithDefaultCommand(via: SshTransport, endpoint: SshdEndpoint, user: string) {
  const { applyCommand: _unused, ...target } = targetOf(endpoint);
  return via.apply({
    campaign: CAMPAIGN,
    user,
    office: '11.0',
    artifact: { fileName: `${user}.prf`, ...prf('[General]\r\n') },
    target,
    signal: new AbortController().signal,
  });
}

async function setFault(endpoint: SshdEndpoint, lines: string[]): Promise<void> {
  const ws = stations.get(endpoint)!;
  await rm(join(ws.root, 'fault.runs'), { force: true });
  await writeFile(join(ws.root, 'fault'), `${lines.join('\n')}\n`);
}

async function clearFault(endpoint: SshdEndpoint): Promise<void> {
  await rm(join(stations.get(endpoint)!.root, 'fault'), { force: true });
}

beforeAll(async () => {
  ensureTestAccount();
  sshd = await Sshd.create({ addresses: ['127.0.0.2', '127.0.0.3', '127.0.0.4'] });
  dir = await makeTempDir('fleet-ssh-transport-');
  const key = await generateKey(dir, 'deploy_key');
  await sshd.authorize([key.publicLine]);
  for (const endpoint of sshd.endpoints) stations.set(endpoint, await makeWorkstation(dir, endpoint));
  credentials = await loadSshCredentials({ keyPath: key.path });
  hostKeys = createHostKeyVerifier({
    knownHosts: parseKnownHosts(sshd.endpoints.map((e) => sshd.knownHostsLine(e)).join('\n')),
    policy: 'strict',
  });
  transport = await createSshTransport({
    applyAllowList: allowList(),
    credentials,
    hostKeys,
    timeouts: { commandMs: 20_000 },
  });
});

afterAll(async () => {
  await transport?.close();
  await sshd?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('ssh transport against a real sshd', () => {
  it('a staging folder the deploy account may not write is a permanent permission failure, not retried', async () => {
    const endpoint = sshd.endpoints[2]!;
    const artifact = prf('[General]\r\nProfileName=denied\r\n');
    const failure = await failureOf(
      transport.apply({
        campaign: CAMPAIGN,
        user: 'denied',
        office: '11.0',
        artifact: { fileName: 'denied.prf', ...artifact },
        // /root is 0700 and owned by root: the fleet-test account cannot create anything under it.
        target: { ...targetOf(endpoint), stagingDir: '/root/fleet-denied' },
        signal: new AbortController().signal,
      }),
    );
    expect(failure.code).toBe('FR_ERR_REMOTE_PERMISSION');
    expect(failure.failureClass).toBe('permanent');
    expect(existsSync('/root/fleet-denied')).toBe(false);
  });

  it('uploads the PRF atomically, applies it and parses the result; the same artifact again is already-applied', async () => {
    const endpoint = sshd.endpoints[0]!;
    const ws = stations.get(endpoint)!;
    const text = '[General]\r\nCustom=1\r\nProfileName=Outlook\r\n';
    const outcome = await applyAs('alice', endpoint, { text });
    const prfPath = join(ws.staging, CAMPAIGN, 'alice.prf');
    expect(outcome).toMatchObject({ status: 'applied', officeVersion: '11.0', checksum: prf(text).sha256 });
    expect(outcome.backup).toBe(join(ws.staging, CAMPAIGN, 'alice.backup.reg'));
    expect(await readFile(prfPath, 'latin1')).toBe(text);
    expect(existsSync(`${prfPath}.tmp`)).toBe(false);
    expect(await readFile(join(ws.root, 'registry', 'alice', SETUP, 'ImportPRF'), 'utf8')).toBe(`${prfPath}\n`);

    const again = await applyAs('alice', endpoint, { text });
    expect(again.status).toBe('already-applied');
  });

  it('never replaces the .prf with an upload that does not read back the same (ImportPRF keeps naming a good file)', async () => {
    const endpoint = sshd.endpoints[2]!;
    const ws = stations.get(endpoint)!;
    const first = '[General]\r\nProfileName=first\r\n';
    expect((await applyAs('grace', endpoint, { text: first })).status).toBe('applied');
    const prfPath = join(ws.staging, CAMPAIGN, 'grace.prf');
    // The upload's name leads to /dev/null: the writes succeed, and what reads back is nothing.
    await symlink('/dev/null', `${prfPath}.tmp`);
    const failure = await failureOf(applyAs('grace', endpoint, { text: '[General]\r\nProfileName=second\r\n' }));
    expect(failure).toMatchObject({ code: 'FR_ERR_SSH_CHECKSUM_MISMATCH', retryable: true });
    expect(await readFile(prfPath, 'latin1')).toBe(first);
    expect(await readFile(join(ws.root, 'registry', 'grace', SETUP, 'FleetRolloutChecksum'), 'utf8')).toBe(
      `${prf(first).sha256}\n`,
    );
    await rm(`${prfPath}.tmp`);
    const second = '[General]\r\nProfileName=second\r\n';
    expect((await applyAs('grace', endpoint, { text: second })).status).toBe('applied');
    expect(await readFile(prfPath, 'latin1')).toBe(second);
  });

  it("carries o'brien, a Unicode name and a would-be injection through intact, as literal user names", async () => {
    const endpoint = sshd.endpoints[1]!;
    const ws = stations.get(endpoint)!;
    const markerName = `pwned-${process.pid}`;
    const names = ["o'brien", 'Zoé Müller', `x'; cd; touch ${markerName}; echo '`];
    for (const user of names) {
      expect((await applyAs(user, endpoint)).status).toBe('applied');
      const importPrf = await readFile(join(ws.root, 'registry', user, SETUP, 'ImportPRF'), 'utf8');
      expect(importPrf).toBe(`${join(ws.staging, CAMPAIGN, `${user}.prf`)}\n`);
    }
    expect((await readdir(join(ws.root, 'registry'))).sort()).toEqual([...names].sort());
    expect(existsSync(join(ensureTestAccount().home, markerName))).toBe(false);
  });

  it('maps apply exit 75 to a transient failure with the stderr tail, and the retry applies', async () => {
    const endpoint = sshd.endpoints[2]!;
    await setFault(endpoint, ['exit=75', 'times=1', 'user=bob']);
    const failure = await failureOf(applyAs('bob', endpoint));
    expect(failure.code).toBe('FR_ERR_REMOTE_TEMPORARY');
    expect(failure.retryable).toBe(true);
    expect(failure.details).toMatchObject({ host: endpoint.host, exitCode: 75 });
    expect(String(failure.details['stderrTail'])).toContain('fault switch: exit 75');
    expect((await applyAs('bob', endpoint)).status).toBe('applied');
    await clearFault(endpoint);
  });

  it('maps apply exit 65 to a permanent failure', async () => {
    const endpoint = sshd.endpoints[2]!;
    await setFault(endpoint, ['exit=65', 'user=carol']);
    const failure = await failureOf(applyAs('carol', endpoint));
    expect(failure.code).toBe('FR_ERR_REMOTE_BAD_ARTIFACT');
    expect(failure.retryable).toBe(false);
    await clearFault(endpoint);
  });

  it('times out a hanging apply as a transient failure, and an abort returns without waiting for the command', async () => {
    const endpoint = sshd.endpoints[2]!;
    await setFault(endpoint, ['hang=1', 'user=dave', 'trace=1']);
    const trace = join(stations.get(endpoint)!.root, 'trace.log');
    const quick = await createSshTransport({
      applyAllowList: allowList(),
      credentials,
      hostKeys,
      timeouts: { commandMs: 1_500 },
    });
    try {
      const timedOut = await failureOf(applyAs('dave', endpoint, { via: quick }));
      expect(timedOut.code).toBe('FR_ERR_TRANSPORT_TIMEOUT');
      expect(timedOut.retryable).toBe(true);
    } finally {
      await quick.close();
    }
    // The shared transport has a 20 s command timeout: only the abort can end this run before the test timeout.
    await rm(trace, { force: true });
    const controller = new AbortController();
    const running = applyAs('dave', endpoint, { signal: controller.signal });
    while (!(await readFile(trace, 'utf8').catch(() => '')).includes(' dave')) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const dialsBefore = transport.stats.dials;
    controller.abort();
    const aborted = await failureOf(running);
    expect(aborted.code).toBe('FR_ERR_TRANSPORT_TIMEOUT');
    await clearFault(endpoint);
    // The connection survived the aborted channel: the next user reuses it.
    expect((await applyAs('erin', endpoint)).status).toBe('applied');
    expect(transport.stats.dials).toBe(dialsBefore);
  });

  it('leaves no .prf when an upload is aborted mid-way or its connection is killed, and a retry succeeds', async () => {
    const endpoint = sshd.endpoints[0]!;
    const ws = stations.get(endpoint)!;
    const big = Buffer.alloc(16 * 1024 * 1024, 'A');
    const prfPath = join(ws.staging, CAMPAIGN, 'frank.prf');
    const whenTmpGrows = async (): Promise<void> => {
      for (;;) {
        const size = await stat(`${prfPath}.tmp`).then(
          (s) => s.size,
          () => 0,
        );
        if (size > 0) return;
        await new Promise((r) => setTimeout(r, 5));
      }
    };

    const controller = new AbortController();
    const aborted = applyAs('frank', endpoint, { bytes: big, signal: controller.signal });
    await whenTmpGrows();
    controller.abort();
    expect((await failureOf(aborted)).code).toBe('FR_ERR_TRANSPORT_TIMEOUT');
    expect(existsSync(prfPath)).toBe(false);

    // The interrupted .tmp stays until the next attempt truncates it; drop it so the next wait sees a new upload.
    await rm(`${prfPath}.tmp`, { force: true });
    const cut = applyAs('frank', endpoint, { bytes: big });
    await whenTmpGrows();
    sshd.killSessions();
    const broken = await failureOf(cut);
    expect(broken.retryable).toBe(true);
    expect(existsSync(prfPath)).toBe(false);

    expect((await applyAs('frank', endpoint, { bytes: big })).status).toBe('applied');
    expect((await stat(prfPath)).size).toBe(big.length);
  });

  it('serves 20 users on one host over one connection, never more than the per-host cap at once', async () => {
    const endpoint = sshd.endpoints[1]!;
    const ws = stations.get(endpoint)!;
    await setFault(endpoint, ['trace=1', 'sleep=0.2']);
    await rm(join(ws.root, 'trace.log'), { force: true });
    const capped = await createSshTransport({
      applyAllowList: allowList(),
      credentials,
      hostKeys,
      perHostConcurrency: 4,
    });
    const acceptedBefore = sshd.logs().filter((l) => l.includes('Accepted publickey')).length;
    try {
      const users = Array.from({ length: 20 }, (_, i) => `ts-user-${i}`);
      const outcomes = await Promise.all(users.map((u) => applyAs(u, endpoint, { via: capped })));
      expect(outcomes.every((o) => o.status === 'applied')).toBe(true);
      expect(capped.stats.dials).toBe(1);
    } finally {
      await capped.close();
      await clearFault(endpoint);
    }
    const acceptedAfter = sshd.logs().filter((l) => l.includes('Accepted publickey')).length;
    expect(acceptedAfter - acceptedBefore).toBe(1);
    let running = 0;
    let peak = 0;
    for (const line of (await readFile(join(ws.root, 'trace.log'), 'utf8')).split('\n')) {
      if (line.startsWith('start ')) peak = Math.max(peak, ++running);
      if (line.startsWith('end ')) running -= 1;
    }
    expect(peak).toBeLessThanOrEqual(4);
    expect(peak).toBeGreaterThan(1);
  });

  it('pushes the apply script when missing or different, and the default command uses it', async () => {
    const endpoint = sshd.endpoints[2]!;
    const ws = stations.get(endpoint)!;
    const account = ensureTestAccount();
    const scriptPath = join(ws.staging, '.fleet', 'apply-profile.sh');
    const local = await readFile(new URL('../../agent/posix/apply-profile.sh', import.meta.url));
    await mkdir(join(ws.staging, '.fleet'), { recursive: true });
    await chown(join(ws.staging, '.fleet'), account.uid, account.gid);
    await writeFile(scriptPath, '#!/bin/sh\necho old version\nexit 1\n');
    const fresh = await createSshTransport({ applyAllowList: allowList(), credentials, hostKeys });
    const user = `default-cmd-${process.pid}`;
    try {
      const outcome = await applyWithDefaultCommand(fresh, endpoint, user);
      expect(outcome.status).toBe('applied');
    } finally {
      await fresh.close();
    }
    expect(await readFile(scriptPath)).toEqual(local);
    const registry = join(account.home, '.fleet-agent', 'registry', user);
    expect(existsSync(join(registry, SETUP, 'ImportPRF'))).toBe(true);
    await rm(registry, { recursive: true, force: true });
  });
  it('prepare dials ahead of the step, which then takes that connection; a refused command dials nothing', async () => {
    const endpoint = sshd.endpoints[1]!;
    const fresh = await createSshTransport({ applyAllowList: allowList(), credentials, hostKeys });
    try {
      fresh.prepare?.({ ...targetOf(endpoint), applyCommand: 'sh {script} not-allowed' }, 'early');
      expect(fresh.stats.dials).toBe(0);
      fresh.prepare?.(targetOf(endpoint), 'early');
      fresh.prepare?.(targetOf(endpoint), 'early');
      expect(fresh.stats.dials).toBe(1);
      expect((await applyAs('early', endpoint, { via: fresh })).status).toBe('applied');
      expect(fresh.stats).toEqual({ dials: 1, reused: 0 });
    } finally {
      await fresh.close();
    }
  });

  it('pushes a same-sized stale script when its check fails before the first run, then runs the real one', async () => {
    const endpoint = sshd.endpoints[2]!;
    const ws = stations.get(endpoint)!;
    const account = ensureTestAccount();
    const scriptPath = join(ws.staging, '.fleet', 'apply-profile.sh');
    const local = await readFile(new URL('../../agent/posix/apply-profile.sh', import.meta.url));
    await mkdir(join(ws.staging, '.fleet'), { recursive: true });
    await chown(join(ws.staging, '.fleet'), account.uid, account.gid);
    // Same size, other content: the stat cannot tell, the run's hash check must (the stand-in never runs).
    const stale = Buffer.from(`#!/bin/sh\ntouch "$HOME/stale-ran"; exit 1\n`);
    await writeFile(scriptPath, Buffer.concat([stale, Buffer.alloc(local.length - stale.length, 0x23)]));
    const fresh = await createSshTransport({ applyAllowList: allowList(), credentials, hostKeys });
    const user = `stale-same-size-${process.pid}`;
    try {
      const outcome = await applyWithDefaultCommand(fresh, endpoint, user);
      expect(outcome.status).toBe('applied');
      expect(fresh.stats.dials).toBe(1);
    } finally {
      await fresh.close();
    }
    expect(await readFile(scriptPath)).toEqual(local);
    expect(existsSync(join(account.home, 'stale-ran'))).toBe(false);
    await rm(join(account.home, '.fleet-agent', 'registry', user), { recursive: true, force: true });
  });
});

describe('the deploy timeout', () => {
  it('counts from when the step holds its host slot, never while it waits behind other users of the host', async () => {
    const endpoint = sshd.endpoints[2]!;
    const oneAtATime = await createSshTransport({
      applyAllowList: allowList(),
      credentials,
      hostKeys,
      perHostConcurrency: 1,
      timeouts: { commandMs: 20_000 },
    });
    await setFault(endpoint, ['sleep=1.2']);
    try {
      const users = ['slot-a', 'slot-b', 'slot-c'];
      const started = Date.now();
      const outcomes = await Promise.allSettled(
        users.map((user) =>
          oneAtATime.apply({
            campaign: CAMPAIGN,
            user,
            office: '11.0',
            artifact: { fileName: `${user}.prf`, ...prf(`[General]\r\nProfileName=${user}\r\n`) },
            target: targetOf(endpoint),
            signal: new AbortController().signal,
            timeoutMs: 2_500,
          }),
        ),
      );
      // One at a time, ≥ 3.6 s in all: the last one waited longer than its budget, and still had all of it.
      expect(Date.now() - started).toBeGreaterThan(3_600);
      expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value.status : String(o.reason)))).toEqual([
        'applied',
        'applied',
        'applied',
      ]);
      // A step that really overruns its budget is still stopped, as transient.
      await setFault(endpoint, ['sleep=5']);
      const late = await failureOf(
        oneAtATime.apply({
          campaign: CAMPAIGN,
          user: 'slot-late',
          office: '11.0',
          artifact: { fileName: 'slot-late.prf', ...prf('[General]\r\nProfileName=late\r\n') },
          target: targetOf(endpoint),
          signal: new AbortController().signal,
          timeoutMs: 1_000,
        }),
      );
      expect(late.code).toBe('FR_ERR_TRANSPORT_TIMEOUT');
      expect(late.failureClass).toBe('transient');
    } finally {
      await clearFault(endpoint);
      await oneAtATime.close();
    }
  }, 30_000);
});
