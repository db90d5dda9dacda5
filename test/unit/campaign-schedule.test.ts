import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  toDeployEstimateMs,
  toMinDeployMs,
  toRolloutSchedule,
  toWavePlanSettings,
  toWaveRule,
} from '../../src/config/campaign-settings.js';
import { parseCampaignText } from '../../src/config/parse-campaign-text.js';
import type { FleetError } from '../../src/errors/index.js';

function problemsOf(text: string): string {
  try {
    parseCampaignText(text, 'campaign.yaml');
  } catch (error) {
    expect((error as FleetError).code).toBe('FR_ERR_CAMPAIGN_FILE_INVALID');
    return (error as FleetError).message;
  }
  throw new Error('expected the campaign file to be refused');
}

describe('campaign file: schedule and waves', () => {
  it('reads a schedule with per-site zones and windows into the core schedule', () => {
    const file = parseCampaignText(
      [
        'schedule:',
        '  start_at: 2026-12-07T22:00:00+01:00',
        '  timezone: Europe/Paris',
        '  windows:',
        '    - days: [mon-fri]',
        '      hours: 22:00-06:00',
        '  min_deploy_minutes: 10',
        '  deploy_estimate_seconds: 90',
        '  sites:',
        '    newyork: { timezone: America/New_York }',
        '    boston:',
        '      timezone: America/New_York',
        '      windows: [{ days: [sat, sun], hours: 08:00-20:00 }]',
      ].join('\n'),
      'c.yaml',
    );
    const schedule = toRolloutSchedule(file);
    const weeknights = { days: ['mon', 'tue', 'wed', 'thu', 'fri'], startMinute: 1320, endMinute: 360 };
    expect(schedule).toEqual({
      startAt: Date.parse('2026-12-07T21:00:00Z'),
      campaign: { timezone: 'Europe/Paris', windows: [weeknights] },
      sites: {
        newyork: { timezone: 'America/New_York', windows: [weeknights] },
        boston: {
          timezone: 'America/New_York',
          windows: [{ days: ['sat', 'sun'], startMinute: 480, endMinute: 1200 }],
        },
      },
    });
    expect(toMinDeployMs(file)).toBe(600_000);
    expect(toDeployEstimateMs(file)).toBe(90_000);
  });

  it('reads start_at without an offset in the campaign zone', () => {
    const file = parseCampaignText(
      'schedule:\n  start_at: "2026-07-01T22:00"\n  timezone: America/New_York\n',
      'c.yaml',
    );
    expect(toRolloutSchedule(file)?.startAt).toBe(Date.parse('2026-07-02T02:00:00Z'));
  });

  it('has no schedule and no waves when the file says nothing', () => {
    const file = parseCampaignText('', 'c.yaml');
    expect(toRolloutSchedule(file)).toBeUndefined();
    expect(toWavePlanSettings(file, 'night')).toBeUndefined();
    expect(toWaveRule(file)).toEqual({ countRetryingAsFailed: false, soakMs: 0 });
  });

  it('reads waves: sizes, order, seed (default: the campaign name), soak and the halt rule', () => {
    const file = parseCampaignText(
      [
        'waves:',
        '  canary: 50',
        '  size: 25%',
        '  order: random',
        '  soak_minutes: 30',
        '  max_fail_percent: 5',
        '  count_retrying_as_failed: true',
        '  auto_promote_percent: 95',
      ].join('\n'),
      'c.yaml',
    );
    expect(toWavePlanSettings(file, 'night-1')).toEqual({
      canary: { count: 50 },
      size: { percent: 25 },
      order: 'random',
      seed: 'night-1',
    });
    expect(toWaveRule(file)).toEqual({
      maxFailPercent: 5,
      countRetryingAsFailed: true,
      autoPromotePercent: 95,
      soakMs: 1_800_000,
    });
  });

  it('names every schedule and wave problem with its path', () => {
    const message = problemsOf(
      [
        'schedule:',
        '  start_at: next tuesday',
        '  timezone: Europe/Pariss',
        '  windows:',
        '    - days: [monday]',
        '      hours: 22h-6h',
        '  sites:',
        '    nyc: { timezone: America/NYC, colour: red }',
        'waves:',
        '  canary: 0',
        '  size: 120%',
        '  order: alphabetical',
        '  max_fail_percent: 150',
        '  site_order: [nyc]',
      ].join('\n'),
    );
    expect(message).toContain('line 3: schedule.timezone: not an IANA time zone');
    expect(message).toContain('line 8: schedule.sites.nyc.colour: unknown key');
    expect(message).toContain('line 11: waves.size: "120%"');
    expect(message).toContain('schedule.windows[0].days: "monday": use mon tue wed thu fri sat sun');
    expect(message).toContain('schedule.windows[0].hours: "22h-6h": expected HH:MM-HH:MM');
    expect(message).toContain('schedule.sites.nyc.timezone: not an IANA time zone');
    expect(message).toContain('schedule.sites.nyc.colour: unknown key');
    expect(message).toContain('waves.canary: 0: a whole number of users');
    expect(message).toContain('waves.size: "120%"');
    expect(message).toContain('waves.order:');
    expect(message).toContain('waves.max_fail_percent:');
  });

  it('asks for a zone when windows or a local start_at have none', () => {
    expect(problemsOf('schedule:\n  windows: [{ hours: 22:00-06:00 }]\n')).toContain(
      'schedule.timezone: required with windows',
    );
    expect(problemsOf('schedule:\n  start_at: "2026-12-07T22:00"\n')).toContain(
      'schedule.start_at: give an offset (…Z, …+01:00) or set schedule.timezone',
    );
    expect(problemsOf('schedule:\n  start_at: 2026-13-40T22:00:00Z\n')).toContain(
      'schedule.start_at: "2026-13-40T22:00:00Z"',
    );
    expect(problemsOf('waves:\n  order: csv\n  site_order: [paris]\n')).toContain(
      'waves.site_order: only with order: site',
    );
  });

  it('keeps the documented example valid, with its schedule and waves', () => {
    const text = readFileSync(new URL('../../config/example.yaml', import.meta.url), 'utf8');
    const file = parseCampaignText(text, 'example.yaml');
    expect(toRolloutSchedule(file)?.sites['newyork']?.timezone).toBe('America/New_York');
    expect(toWavePlanSettings(file, 'x')?.canary).toBeDefined();
  });
});
