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
 * interval while events arrive, until the campaign ends (or Ctrl-C, or `timeoutMs`): on a TTY the status block is
 * redrawn in place under whatever was printed before it (an import summary, warnings) with a progress bar,
 * elsewhere one line per change. Used by `status --watch`, `run --follow` and `wait`.
 */
export async function followCampaign(
  context: CliContext,
  name: string,
  intervalMs: number,
  options: { readonly quiet?: boolean; readonly timeoutMs?: number } = {},
): Promise<CampaignStatus & { readonly timedOut?: boolean }> {
  const { formatCounts, formatStatusText } = await loadStatusModules();
  const tty = process.stdout.isTTY === true;
  const deadline = options.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs;
  let lastLine = '';
  let bar: ReturnType<typeof createProgressBar> | undefined;
  const block = createRedrawnBlock(process.stdout);
  const stop = new AbortController();
  const events = context.fleet.events(name, { signal: stop.signal, blockMs: intervalMs })[Symbol.asyncIterator]();
  try {
    for (;;) {
      const status = await context.fleet.status(name);
      if (options.quiet) {
        // --json / wait: only the final document or summary goes to stdout
      } else if (tty) {
        await block.draw(formatStatusText(status));
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
      const left = deadline === undefined ? intervalMs : deadline - Date.now();
      if (left <= 0) {
        bar?.finish();
        return { ...status, timedOut: true };
      }
      // Wake on the next event (or after the interval), then let a burst of events settle before redrawing.
      await Promise.race([events.next(), sleep(Math.min(intervalMs, left))]);
      await sleep(Math.min(intervalMs, 250));
    }
  } finally {
    stop.abort();
    await events.return?.();
  }
}

/**
 * A block of lines redrawn in place: the cursor goes back to the block's first line and only what is below it is
 * cleared, so the lines printed before (import summary, rejected rows, warnings) stay on screen.
 */
function createRedrawnBlock(stream: NodeJS.WriteStream) {
  let rows = 0;
  return {
    async draw(text: string): Promise<void> {
      const width = Math.max(20, stream.columns || 80);
      // \r: back to column 0 (the progress bar line); up `rows` lines; clear from there to the end of the screen.
      const back = rows > 0 ? `\r\x1b[${rows}A\x1b[J` : '\r\x1b[J';
      await writeOut(back + text);
      rows = text
        .replace(/\n$/, '')
        .split('\n')
        .reduce((sum, line) => sum + Math.max(1, Math.ceil(line.length / width)), 0);
    },
  };
}

async function showStatus(context: CliContext, name: string | undefined, flags: StatusFlags): Promise<void> {
  const { formatCampaignLine, formatStatusText } = await loadStatusModules();
  if (name === undefined) {
    const { formatCampaignEntry } = await import('../../campaign/format-insights.js');
    const campaigns = await context.fleet.campaigns();
    const entries = campaigns.map((summary) => formatCampaignEntry(summary, formatCampaignLine));
    if (flags.json) await writeJson(campaigns);
    else await writeOut(entries.length > 0 ? `${entries.join('\n')}\n` : 'no campaigns\n');
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
  const slots = await context.fleet.slots(name);
  if (flags.json)
    await writeJson({ ...status, schedule, ...(slots && { slots }), ...(recount && { recount, consistent }) });
  else {
    const { formatSlotsText } = await import('../../campaign/format-slots.js');
    await writeOut(
      formatStatusText(status) + (await scheduleText(context, schedule)) + (slots ? formatSlotsText(slots) : ''),
    );
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
