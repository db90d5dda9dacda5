import { describe, expect, it } from 'vitest';
import { applyDeployOverrides } from '../../src/config/apply-deploy-overrides.js';
import { parseCampaignText } from '../../src/config/parse-campaign-text.js';
import { FleetError } from '../../src/errors/index.js';
import { resolveDeployTarget } from '../../src/rollout/resolve-target.js';

const FILE = parseCampaignText(
  [
    'deploy:',
    '  transport: ssh',
    '  ssh:',
    '    user: file-user',
    '    port: 22',
    '    staging_dir: C:/ProgramData/fleet-rollout/staging',
    '    apply_command: corp-wrapper',
    '  sites:',
    '    lyon:',
    '      port: 2222',
    '      user: lyon-user',
    '',
  ].join('\n'),
  'campaign.yaml',
);

const FULL = 'sh {script} --campaign {campaign} --user {user} --prf {prf} --office {office} --checksum {checksum}';

function refusal(flags: Parameters<typeof applyDeployOverrides>[1]): FleetError {
  try {
    applyDeployOverrides(FILE, flags);
  } catch (error) {
    expect(error).toBeInstanceOf(FleetError);
    return error as FleetError;
  }
  throw new Error('expected the flags to be refused');
}

describe('applyDeployOverrides (campaign ssh flags over the campaign file)', () => {
  it('returns the settings untouched when no flag is given', () => {
    expect(applyDeployOverrides(FILE, {})).toBe(FILE);
  });

  it('lays the flags over deploy.ssh, keeps the file values it does not replace and leaves the rest alone', () => {
    const merged = applyDeployOverrides(FILE, {
      sshUser: 'deployer',
      sshPort: '2200',
      targetOs: 'posix',
      stagingDir: '/srv/fleet',
    });
    expect(merged.deploy.ssh).toEqual({
      user: 'deployer',
      port: 2200,
      target_os: 'posix',
      staging_dir: '/srv/fleet',
      apply_command: 'corp-wrapper',
    });
    expect(merged.deploy.sites).toEqual(FILE.deploy.sites);
    expect({ ...merged, deploy: undefined }).toEqual({ ...FILE, deploy: undefined });
    expect(merged.deploy.transport).toBe('ssh');
    // the input (a frozen, validated file) is not modified
    expect(FILE.deploy.ssh.user).toBe('file-user');
  });

  it('works without a campaign file (schema defaults) and accepts a port given as a number', () => {
    const merged = applyDeployOverrides(parseCampaignText('', 'none'), {
      sshPort: 2022,
      applyCommand: FULL,
    });
    expect(merged.deploy.ssh).toEqual({ port: 2022, apply_command: FULL });
  });

  it('keeps per-site overrides winning over the flags when the target is resolved', () => {
    const merged = applyDeployOverrides(FILE, { sshUser: 'deployer', sshPort: '2200', targetOs: 'posix' });
    const paris = resolveDeployTarget({ username: 'a', host: 'ws-1', site: 'paris' } as never, merged.deploy);
    const lyon = resolveDeployTarget({ username: 'b', host: 'ws-2', site: 'lyon' } as never, merged.deploy);
    expect(paris).toMatchObject({ login: 'deployer', port: 2200, targetOs: 'posix' });
    expect(lyon).toMatchObject({ login: 'lyon-user', port: 2222, targetOs: 'posix' });
  });

  it.each([
    [{ sshPort: '70000' }, /^--ssh-port "70000": .*65535/],
    [{ sshPort: '0' }, /^--ssh-port "0": /],
    [{ sshPort: 'ssh' }, /^--ssh-port "ssh": expected a port number \(1 to 65535\)$/],
    [{ sshPort: '22.5' }, /^--ssh-port "22.5": /],
    [{ targetOs: 'beos' }, /^--target-os "beos": .*windows.*posix/],
    [{ stagingDir: 'relative/dir' }, /^--staging-dir "relative\/dir": .*absolute path/],
    [{ stagingDir: '/srv/../etc' }, /^--staging-dir "\/srv\/..\/etc": .*no \.\. segments/],
    [{ sshUser: 'two words' }, /^--ssh-user "two words": .*no spaces/],
    [{ sshUser: '' }, /^--ssh-user "": /],
    [
      { applyCommand: 'sh {script} {evil}' },
      /^--apply-command "sh \{script\} \{evil\}": .*unknown placeholder \{evil\}/,
    ],
    [
      { applyCommand: 'sh {script} --prf {prf}' },
      /^--apply-command .*lacks \{user\} \{office\} \{campaign\} \{checksum\}/,
    ],
    [
      {
        applyCommand: `powershell -NoProfile -File C:/x.ps1 ${'{script} {prf} {user} {office} {campaign} {checksum}'}`,
      },
      /^--apply-command .*powershell -File/,
    ],
    [{ applyCommand: `pwsh -f {script} {prf} {user} {office} {campaign} {checksum}` }, /powershell -File/],
    [{ applyCommand: 'sh {script}\nrm -rf /' }, /^--apply-command /],
  ])('refuses %j with one FR_ERR_USAGE line naming the flag', (flags, message) => {
    const error = refusal(flags);
    expect(error.code).toBe('FR_ERR_USAGE');
    expect(error.exitCode).toBe(1);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('\n');
  });

  it('names every bad flag at once', () => {
    const error = refusal({ sshPort: '99999', targetOs: 'dos' });
    expect(error.message).toContain('--ssh-port');
    expect(error.message).toContain('--target-os');
  });
});
