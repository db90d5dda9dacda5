import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestPrefix, TEST_REDIS_URL } from '../helpers/redis.js';

/**
 * A misconfigured agent refuses to start with one line (exit 1) instead of starting and failing every user it picks
 * up (FR_ERR_SSH_AUTH_FAILED, FR_ERR_SSH_HOSTKEY_UNKNOWN…). The built CLI, as an admin would run it.
 */
const CLI = join(resolve(import.meta.dirname, '../..'), 'dist/cli/main.js');
const work = mkdtempSync(join(tmpdir(), 'fleet-e2e-agent-refusals-'));
const key = join(work, 'deploy_key');
execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key], { stdio: 'ignore' });
const knownHosts = join(work, 'known_hosts');
writeFileSync(knownHosts, `ws1.corp ${execFileSync('ssh-keygen', ['-y', '-f', key]).toString().trim()}\n`);
writeFileSync(join(work, 'empty_known_hosts'), '# nothing yet\n');
writeFileSync(join(work, 'short-secret'), 'hunter2\n');
writeFileSync(join(work, 'good-secret'), `${'x'.repeat(40)}\n`);
writeFileSync(
  join(work, 'bad-allow.yaml'),
  'corp: powershell -NoProfile -File C:/x.ps1 {script} {prf} {user} {office} {campaign} {checksum}\n',
);
const prefix = createTestPrefix('agent-refusals');

function agent(...args: string[]) {
  const result = spawnSync(
    process.execPath,
    [CLI, 'agent', '--transport', 'ssh', '--redis-url', TEST_REDIS_URL, '--prefix', prefix, '--no-ssh-agent', ...args],
    {
      cwd: work,
      encoding: 'utf8',
      timeout: 20_000,
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: work },
    },
  );
  return { code: result.status, stderr: result.stderr, stdout: result.stdout };
}

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('agent start-up refusals', () => {
  it.each([
    [
      'a public key as --ssh-key',
      ['--ssh-key', `${key}.pub`, '--known-hosts', knownHosts],
      /is a public key: give the private key file/,
    ],
    ['strict host keys without known_hosts', ['--ssh-key', key], /--host-key-policy strict needs --known-hosts FILE/],
    [
      'strict host keys with a known_hosts that lists no key',
      ['--ssh-key', key, '--known-hosts', join(work, 'empty_known_hosts')],
      /no host key in it; with --host-key-policy strict every host would be refused/,
    ],
    [
      'a known_hosts path that does not exist',
      ['--ssh-key', key, '--known-hosts', join(work, 'missing')],
      /FR_ERR_FILE_UNREADABLE: known_hosts file cannot be read/,
    ],
    [
      'accept-new without a pin secret',
      ['--ssh-key', key, '--host-key-policy', 'accept-new'],
      /accept-new needs --host-key-pin-secret-file FILE/,
    ],
    [
      'accept-new with a short pin secret',
      ['--ssh-key', key, '--host-key-policy', 'accept-new', '--host-key-pin-secret-file', join(work, 'short-secret')],
      /holds 7 bytes: use at least 16/,
    ],
    [
      'an allow-list with a powershell -File template',
      ['--ssh-key', key, '--known-hosts', knownHosts, '--allow-apply-commands', join(work, 'bad-allow.yaml')],
      /apply-command allow-list .*bad-allow\.yaml: corp: apply_command uses powershell -File/,
    ],
  ])('%s: one line, exit 1, before serving anything', (_name, args, message) => {
    const run = agent(...(args as string[]));
    expect(run.code).toBe(1);
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^fleet-rollout: FR_ERR_[A-Z_]+: /);
    expect(lines[0]).toMatch(message);
    expect(run.stdout).not.toContain('agent started');
  });
});
