import { describe, expect, it } from 'vitest';
import { DEFAULT_OFFICE_POLICY } from '../../src/profile/office-policy.js';
import {
  interpretProbeRun,
  type ProbeReport,
  summarizeVerdicts,
  verdictOfError,
  verdictOfProbe,
} from '../../src/rollout/probe-result.js';

const ready: ProbeReport = {
  os: 'Microsoft Windows 10 Pro 10.0.19045',
  psVersion: '5.1.19041.4522',
  defaultShell: 'cmd.exe (default)',
  staging: 'safe',
  officeInstalled: ['11.0 x86'],
  officeMatches: true,
  outlookRunning: false,
  profile: 'present',
  profileType: 'local',
  loggedOn: false,
  importPending: undefined,
  osSupported: true,
  overrides: {},
};

describe('probe verdicts (what a deploy would do with each user)', () => {
  it('names the first blocking reason, policy first', () => {
    const verdict = (report: Partial<ProbeReport>, office = '11.0' as const, stage = false) =>
      verdictOfProbe({ ...ready, ...report }, office, DEFAULT_OFFICE_POLICY, stage).verdict;
    expect(verdict({})).toBe('ready');
    expect(verdictOfProbe(ready, '16.0', DEFAULT_OFFICE_POLICY, false).verdict).toBe('skipped-by-policy');
    expect(verdict({ staging: 'unsafe' })).toBe('staging-unsafe');
    expect(verdict({ officeMatches: false })).toBe('office-mismatch');
    expect(verdict({ profile: 'absent' })).toBe('no-profile');
    expect(verdict({ profileType: 'fslogix', loggedOn: false })).toBe('waits-for-logon');
    expect(verdict({ profileType: 'roaming', loggedOn: true })).toBe('ready');
    expect(verdict({ outlookRunning: true })).toBe('outlook-running');
    expect(verdict({ outlookRunning: true }, '11.0', true)).toBe('ready');
    expect(verdict({ osSupported: false })).toBe('os-unsupported');
  });

  it('classifies failures before the script answered', () => {
    expect(verdictOfError('FR_ERR_SSH_CONNECT_TIMEOUT')).toBe('unreachable');
    expect(verdictOfError('FR_ERR_SSH_HOSTKEY_CHANGED')).toBe('host-key');
    expect(verdictOfError('FR_ERR_SSH_AUTH_FAILED')).toBe('auth-failed');
    expect(verdictOfError('FR_ERR_REMOTE_STAGING_UNSAFE')).toBe('staging-unsafe');
    expect(verdictOfError('FR_ERR_REMOTE_FAILED')).toBe('error');
  });

  it('sums up in the order a pilot reads it', () => {
    const rows = [
      ...Array.from({ length: 412 }, () => ({ verdict: 'ready' as const })),
      ...Array.from({ length: 2 }, () => ({ verdict: 'staging-unsafe' as const })),
      ...Array.from({ length: 7 }, () => ({ verdict: 'skipped-by-policy' as const, office: '16.0' as const })),
      ...Array.from({ length: 31 }, () => ({ verdict: 'unreachable' as const })),
    ];
    expect(summarizeVerdicts(rows)).toBe(
      '412 ready, 31 unreachable, 7 Outlook 2016+ → skipped by policy, 2 staging ACL unsafe',
    );
    expect(summarizeVerdicts([])).toBe('no host probed');
  });

  it('escapes and bounds what a workstation reports', () => {
    const stdout = JSON.stringify({
      status: 'probe',
      exit: 0,
      os: '\u001b[2JWindows',
      staging: 'maybe',
      officeInstalled: ['16.0 x64\u0007'],
      overrides: { 'ZeroConfigExchange\n': 1 },
    });
    const report = interpretProbeRun({ exitCode: 0, stdout, stderr: '' }, 'ws');
    expect(report.os).toBe('\\x1b[2JWindows');
    expect(report.staging).toBe('unknown');
    expect(report.officeInstalled).toEqual(['16.0 x64\\x07']);
    expect(report.overrides).toEqual({ 'ZeroConfigExchange\\n': '1' });
  });
});
