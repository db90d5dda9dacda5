import { describe, expect, it } from 'vitest';
import { applyScheduleOverrides } from '../../src/config/apply-schedule-overrides.js';
import { campaignFileSchema } from '../../src/config/campaign-schema.js';
import { FleetError } from '../../src/errors/index.js';

const base = campaignFileSchema.parse({
  schedule: { timezone: 'Europe/Paris', windows: [{ days: ['mon-fri'], hours: '22:00-06:00' }] },
  waves: { canary: 50, max_fail_percent: 5 },
});

function usage(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof FleetError) return `${error.code}: ${error.message}`;
    throw error;
  }
  throw new Error('expected a usage error');
}

describe('schedule and wave flags over the campaign file', () => {
  it('replaces the keys they name and keeps the others', () => {
    const file = applyScheduleOverrides(base, {
      window: ['sat,sun 08:00-20:00', '23:00-05:00'],
      tz: 'America/New_York',
      startAt: '2026-12-07T22:00:00',
      canary: '2%',
      waveSize: '500',
      maxFailPercent: '2.5',
      soak: '30',
      retryCron: '0 23 * * *',
    });
    expect(file.schedule).toMatchObject({
      timezone: 'America/New_York',
      start_at: '2026-12-07T22:00:00',
      windows: [
        { days: ['sat', 'sun'], hours: '08:00-20:00' },
        { days: ['daily'], hours: '23:00-05:00' },
      ],
      retry: { cron: '0 23 * * *' },
    });
    expect(file.waves).toMatchObject({ canary: '2%', size: 500, max_fail_percent: 2.5, soak_minutes: 30 });
  });

  it('adds waves to a file without any, and returns the file itself without flags', () => {
    const plain = campaignFileSchema.parse({});
    expect(applyScheduleOverrides(plain, {})).toBe(plain);
    expect(applyScheduleOverrides(plain, { canary: '10' }).waves).toMatchObject({ canary: 10, order: 'csv' });
    expect(applyScheduleOverrides(plain, { canary: '10' }).schedule).toBeUndefined();
  });

  it('names the flag of a bad value, with the rule of the key it replaces', () => {
    expect(usage(() => applyScheduleOverrides(base, { window: ['mon-fri 22:00-25:00'] }))).toBe(
      'FR_ERR_USAGE: --window "mon-fri 22:00-25:00": "22:00-25:00": the end must be 00:00 to 24:00',
    );
    expect(usage(() => applyScheduleOverrides(base, { tz: 'Mars/Olympus' }))).toContain(
      '--tz "Mars/Olympus": not an IANA',
    );
    expect(usage(() => applyScheduleOverrides(base, { maxFailPercent: 'lots' }))).toContain(
      '--max-fail-percent "lots": expected number',
    );
    expect(usage(() => applyScheduleOverrides(base, { canary: '0%' }))).toContain('--canary "0%"');
    expect(usage(() => applyScheduleOverrides(campaignFileSchema.parse({}), { window: ['22:00-06:00'] }))).toContain(
      'schedule.timezone: required with windows',
    );
  });
});
