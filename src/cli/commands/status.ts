import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import type { CampaignStatus } from '../../campaign/campaign-status.js';
import type { ScheduleStatus } from '../../campaign/schedule-status.js';
import { USER_STATES } from '../../rollout/states.js';
import {
  addConnectionOptions,
  type CliContext,
  toConnectionFlags,
  withContext,
  writeJson,
  writeOut,
} from '../context.js';
import { createProgressBar } from '../progress-bar.js';

/** What `status` runs, loaded when it runs (start-up of every command stays light: see commands/index.ts). */
function loadStatusModules() {
  return import('../../campaign/format-status.js');
}

interface StatusFlags {
  readonly watch?: boolean;
  readonly json?: boolean;
  readonly interval: string;
  readonly verify?: boolean;
}

const ENDED = ['done', 'cancelled', 'halted'];

/**
 * Follows the campaign's event stream (the same one the dashboard's live view reads) and redraws at most once per
 * interval while events arrive, until the campaign ends (or Ctrl-C): on a TTY a redrawn screen and a progress bar,
 * elsewhere one line per change. Used by `status --watch` and `run --follow`.
 */
export async function followCampaign(
  context: CliContext,
  name: string,
  intervalMs: number,
  options: { readonly quiet?: boolean } = {},
): Promise<CampaignStatus> {
  const { formatCounts, formatStatusText } = await loadStatusModules();
  const tty = process.stdout.isTTY === true;
  let lastLine = '';
  let bar: ReturnType<typeof createProgressBar> | undefined;
  const stop = new AbortController();
  const events = context.fleet.events(name, { signal: stop.signal, blockMs: intervalMs })[Symbol.asyncIterator]();
  try {
    for (;;) {
      const status = await context.fleet.status(name);
      if (options.quiet) {
        // --json: only the final document goes to stdout
      } else if (tty) {
        await writeOut(`\x1b[H\x1b[2J${formatStatusText(status)}`);
        bar ??= createProgressBar({ total: status.total, label: name, stream: process.stdout, delayMs: 0 });
        bar.update(status.finished, `${status.finished}/${status.total}`);
      } else {
        const line = `${name}: ${status.campaign.state} · ${formatCounts(status)}`;
        if (line !== lastLine) await writeOut(`${line}\n`);
        lastLine = line;
      }
      if (ENDED.includes(status.campaign.state)) {
        bar?.finish();
        return status;
      }
      // Wake on the next event (or after the interval), then let a burst of events settle before redrawing.
      await Promise.race([events.next(), sleep(intervalMs)]);
      await sleep(Math.min(intervalMs, 250));
    }
  } finally {
    stop.abort();
    await events.return?.();
  }
}

async function showStatus(context: CliContext, name: string | undefined, flags: StatusFlags): Promise<void> {
  const { formatCampaignLine, formatStatusText } = await loadStatusModules();
  if (name === undefined) {
    const campaigns = await context.fleet.campaigns();
    if (flags.json) await writeJson(campaigns);
    else await writeOut(campaigns.length > 0 ? `${campaigns.map(formatCampaignLine).join('\n')}\n` : 'no campaigns\n');
    return;
  }
  if (flags.watch && !flags.json) {
    const status = await followCampaign(context, name, Math.max(200, Number(flags.interval) * 1000 || 1000));
    if (!process.stdout.isTTY) await writeOut(formatStatusText(status));
    return;
  }
  const status = await context.fleet.status(name);
  const schedule = await context.fleet.scheduleStatus(name);
  // --verify: recount every record (slow, O(users)) and compare with the counters.
  const recount = flags.verify ? await context.fleet.recount(name) : undefined;
  const consistent = recount && USER_STATES.every((state) => recount[state] === status.counts[state]);
  if (flags.json) await writeJson({ ...status, schedule, ...(recount && { recount, consistent }) });
  else {
    await writeOut(formatStatusText(status) + (await scheduleText(context, schedule)));
    if (recount)
      await writeOut(
        `  verify    ${consistent ? 'counters match a recount' : `MISMATCH, recount: ${JSON.stringify(recount)}`}\n`,
      );
  }
  if (recount && !consistent) process.exitCode = 2;
}

/** The schedule's lines (format-schedule-status.ts), times in each site's zone and the viewer's. */
async function scheduleText(context: CliContext, schedule: ScheduleStatus): Promise<string> {
  const { formatScheduleText } = await import('../../campaign/format-schedule-status.js');
  return formatScheduleText(schedule, Intl.DateTimeFormat().resolvedOptions().timeZone, context.now());
}

export function registerStatus(program: Command): void {
  addConnectionOptions(
    program
      .command('status')
      .description('counts per state, throughput, ETA and queue depths of a campaign (all campaigns without NAME)')
      .argument('[name]', 'campaign name')
      .option('--watch', 'refresh until the campaign ends (Ctrl-C to stop watching)', false)
      .option('--interval <seconds>', 'refresh interval of --watch', '1')
      .option('--verify', 'recount every user record and compare with the counters (slow)', false)
      .option('--json', 'print JSON', false),
  )
    .addHelpText(
      'after',
      '\nExit codes: 0 shown (also for a finished campaign with failed users) · 2 --verify found a mismatch · 1 failure.',
    )
    .action(async (name: string | undefined, flags: StatusFlags & Record<string, unknown>) => {
      await withContext(toConnectionFlags(flags), (context) => showStatus(context, name, flags));
    });
}
