import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { toProfileOptions, toRetryPolicy } from '../../src/config/campaign-settings.js';
import { parseCampaignText } from '../../src/config/parse-campaign-text.js';
import { FleetError } from '../../src/errors/index.js';
import { DEFAULT_PROFILE_OPTIONS } from '../../src/profile/index.js';
import { DEFAULT_OFFICE_POLICY } from '../../src/profile/office-policy.js';
import { DEFAULT_RETRY_POLICY } from '../../src/rollout/retry-policy.js';

function problemsOf(text: string): string {
  try {
    parseCampaignText(text, 'campaign.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(FleetError);
    expect((error as FleetError).code).toBe('FR_ERR_CAMPAIGN_FILE_INVALID');
    expect((error as FleetError).details['file']).toBe('campaign.yaml');
    return (error as FleetError).message;
  }
  throw new Error('expected the campaign file to be refused');
}

describe('campaign file', () => {
  it('gives the documented defaults for an empty file, matching the core defaults', () => {
    const file = parseCampaignText('', 'empty.yaml');
    // A campaign adds the Outlook-version policy (16.0 skipped) to the library's defaults.
    expect(toProfileOptions(file)).toEqual({ ...DEFAULT_PROFILE_OPTIONS, officePolicy: DEFAULT_OFFICE_POLICY });
    expect(toRetryPolicy(file)).toEqual(DEFAULT_RETRY_POLICY);
    expect(file.defaults).toEqual({});
  });

  it('reads YAML and JSON alike, and freezes the result', () => {
    const yaml = parseCampaignText(
      'defaults:\n  proxy: mail.contoso.fr\n  mutual_auth: yes\nprofile:\n  codepage: 1250\n',
      'c.yaml',
    );
    const json = parseCampaignText(
      '{"defaults": {"proxy": "mail.contoso.fr", "mutual_auth": "yes"}, "profile": {"codepage": 1250}}',
      'c.json',
    );
    expect(json).toEqual(yaml);
    expect(yaml.defaults.proxy).toBe('mail.contoso.fr');
    expect(Object.isFrozen(yaml.defaults)).toBe(true);
  });

  it('lists every problem at once, each with its dot path', () => {
    const message = problemsOf(
      [
        'defaults:',
        '  proxy: 42',
        '  shoe_size: 44',
        'profile:',
        '  codepage: 65001',
        '  encoding: utf8',
        'retry:',
        '  max_attempts: 0',
        'deploy:',
        '  ssh:',
        '    port: "22"',
        'colour: blue',
      ].join('\n'),
    );
    expect(message).toContain('defaults.proxy:');
    expect(message).toContain('defaults.shoe_size: unknown key');
    expect(message).toContain('profile.codepage: must be a single-byte Windows code page');
    expect(message).toContain('profile.encoding:');
    expect(message).toContain('retry.max_attempts:');
    expect(message).toContain('deploy.ssh.port:');
    expect(message).toContain('colour: unknown key');
  });

  it('checks each default by its column rule, once, with its line (not a rejection on every row)', () => {
    const message = problemsOf(
      [
        'defaults:',
        '  exchange_server: exch01.contoso.fr',
        '  proxy: http://mail.contoso.fr',
        '  auth: basic',
        '  office: 2042',
        '  site: "-lyon"',
        '  email: not-an-address',
      ].join('\n'),
    );
    expect(message).toContain('line 4: defaults.auth: Basic authentication needs SSL');
    expect(message).toContain('line 5: defaults.office: expected 2003');
    expect(message).toContain('line 6: defaults.site: site must be');
    expect(message).toContain('line 7: defaults.email: not an e-mail address');
    expect(message).not.toContain('exchange_server');
    expect(parseCampaignText('defaults:\n  proxy: mail.contoso.fr\n  auth: basic\n', 'ok.yaml').defaults.auth).toBe(
      'basic',
    );
  });

  it('reports YAML syntax errors with their line', () => {
    expect(problemsOf('defaults:\n  proxy: [unclosed\n')).toMatch(/line \d+/);
    expect(problemsOf('name: a\nname: b\n')).toContain('line 2');
  });

  it('refuses a file that is not a mapping', () => {
    expect(problemsOf('- a\n- b\n')).toContain('(top level)');
  });

  it('maps seconds and hours to the milliseconds of the retry policy, and lets the CLI override the profile', () => {
    const file = parseCampaignText(
      'retry:\n  base_delay_seconds: 1.5\n  max_delay_seconds: 60\n  horizon_hours: 2\n',
      'c.yaml',
    );
    expect(toRetryPolicy(file)).toMatchObject({ baseDelayMs: 1500, maxDelayMs: 60_000, horizonMs: 7_200_000 });
    expect(toProfileOptions(file, { codepage: 1251, encoding: 'utf16le' })).toMatchObject({
      codepage: 1251,
      encoding: 'utf16le',
    });
  });

  it('accepts the shipped example files', () => {
    for (const path of ['../../config/example.yaml', '../../examples/campaign.yaml']) {
      const file = parseCampaignText(readFileSync(new URL(path, import.meta.url), 'utf8'), path);
      expect(file.defaults.proxy).toBe('https://mail.contoso.fr');
      expect(file.profile.codepage).toBe(1252);
      // they leave apply_command out: the agent's own script, which is what a Windows workstation needs
      expect(file.deploy.ssh.apply_command).toBeUndefined();
    }
  });

  it('refuses, at load, the apply_command the example files used to ship (no placeholders, -File)', () => {
    const shipped =
      'powershell -NoProfile -ExecutionPolicy Bypass -File C:/ProgramData/fleet-rollout/apply-profile.ps1';
    const message = problemsOf(`deploy:\n  ssh:\n    apply_command: ${shipped}\n`);
    expect(message).toContain('deploy.ssh.apply_command');
    expect(message).toMatch(/lacks \{script\} \{prf\} \{user\} \{office\} \{campaign\} \{checksum\}/);
    expect(message).toMatch(/uses powershell -File/);
    expect(problemsOf('deploy:\n  sites:\n    lyon:\n      apply_command: "sh {script} {nope}"\n')).toMatch(
      /deploy\.sites\.lyon\.apply_command: .*unknown placeholder \{nope\}/,
    );
    // a name refers to the agents' allow-list (checked by the agents)
    expect(parseCampaignText('deploy:\n  ssh:\n    apply_command: corp-wrapper\n', 'x').deploy.ssh.apply_command).toBe(
      'corp-wrapper',
    );
  });
});
