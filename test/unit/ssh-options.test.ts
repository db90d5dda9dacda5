import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addSshOptions, toSshTransportOptions } from '../../src/cli/ssh-options.js';

function parse(args: string[]): Record<string, unknown> {
  const command = addSshOptions(new Command('agent').exitOverride());
  command.parse(args, { from: 'user' });
  return command.opts();
}

describe('agent ssh flags', () => {
  it('reads key, passphrase file, known_hosts, policy and timeouts; the passphrase only from the environment', () => {
    const settings = toSshTransportOptions(
      parse([
        '--ssh-key',
        '/etc/fleet/key',
        '--ssh-key-passphrase-file',
        '/etc/fleet/pass',
        '--known-hosts',
        '/etc/fleet/kh',
        '--host-key-policy',
        'accept-new',
        '--connect-timeout-ms',
        '5000',
        '--command-timeout-ms',
        '60000',
      ]),
      { FLEET_SSH_KEY_PASSPHRASE: 'from-env' },
    );
    expect(settings).toMatchObject({
      keyPath: '/etc/fleet/key',
      passphraseFile: '/etc/fleet/pass',
      passphrase: 'from-env',
      knownHostsPath: '/etc/fleet/kh',
      hostKeyPolicy: 'accept-new',
      connectTimeoutMs: 5000,
      commandTimeoutMs: 60000,
      perHostConcurrency: 10,
    });
  });

  it('defaults to strict host keys and uses ssh-agent from SSH_AUTH_SOCK unless --no-ssh-agent', () => {
    expect(toSshTransportOptions(parse([]), { SSH_AUTH_SOCK: '/tmp/agent.sock' })).toMatchObject({
      agentSocket: '/tmp/agent.sock',
      hostKeyPolicy: 'strict',
    });
    expect(toSshTransportOptions(parse(['--no-ssh-agent']), { SSH_AUTH_SOCK: '/tmp/agent.sock' })).toBeUndefined();
  });

  it('gives no ssh transport without any credential, and refuses an unknown policy', () => {
    expect(toSshTransportOptions(parse([]), {})).toBeUndefined();
    expect(() => parse(['--ssh-key', 'k', '--host-key-policy', 'yes'])).toThrow();
  });
});
