import type { Command } from 'commander';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The schedule and wave flags of `import`/`run`: each replaces its key of the campaign file (same rules). */
export function addScheduleOptions(command: Command): Command {
  return command
    .option('--start-at <iso>', 'nothing starts before (schedule.start_at): 2026-12-07T22:00:00+01:00')
    .option(
      '--window <[days ]HH:MM-HH:MM>',
      'maintenance window, repeatable: "mon-fri 22:00-06:00", "22:00-06:00" = daily (replaces schedule.windows)',
      collect,
    )
    .option('--tz <zone>', 'IANA zone of the windows and of --start-at without offset (schedule.timezone)')
    .option('--retry-cron <cron>', 're-queue transient give-ups on this cron, inside the window (schedule.retry.cron)')
    .option('--canary <n|%>', 'first wave: users or a percentage (waves.canary)')
    .option('--wave-size <n|%>', 'each following wave (waves.size)')
    .option('--wave-order <order>', 'csv, site or random (waves.order)')
    .option('--max-fail-percent <p>', "halt when a wave's failure rate is strictly above (waves.max_fail_percent)")
    .option('--soak <minutes>', 'wait between a wave promoted and the next (waves.soak_minutes)');
}
