import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import type { CampaignFile } from '../../config/campaign-schema.js';
import type { CsvEncoding } from '../../csv/index.js';
import { FleetError } from '../../errors/index.js';
import type { PlanUser } from '../../rollout/plan-rollout.js';
import { addConnectionOptions, toConnectionFlags, withContext } from '../context.js';

interface PlanFlags {
  readonly campaignFile?: string;
  readonly json: boolean;
  readonly perUserSeconds?: string;
  readonly concurrency: string;
  readonly perSiteCap?: string;
  readonly now?: string;
  readonly users: string;
  readonly encoding: CsvEncoding;
  readonly delimiter?: string;
}

function positiveNumber(flag: string, value: string, integer: boolean): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new FleetError('FR_ERR_USAGE', `${flag} ${value}: must be a positive ${integer ? 'whole ' : ''}number`);
  }
  return n;
}

/** Reads the CSV (validated like an import): the users to plan and how many rows were rejected; no Redis. */
async function readCsvUsers(csvPath: string, campaign: CampaignFile, flags: PlanFlags) {
  const [{ checkRosterRows }, { toProfileOptions }, { parseDelimiterOption }] = await Promise.all([
    import('../../campaign/validate-roster.js'),
    import('../../config/campaign-settings.js'),
    import('../../csv/index.js'),
  ]);
  const delimiter = flags.delimiter === undefined ? undefined : parseDelimiterOption(flags.delimiter);
  if (flags.delimiter !== undefined && !delimiter) {
    throw new FleetError('FR_ERR_USAGE', `--delimiter ${JSON.stringify(flags.delimiter)}: use , ; or tab`);
  }
  const users: PlanUser[] = [];
  let rejected = 0;
  const rows = checkRosterRows(csvPath, campaign, toProfileOptions(campaign), {
    encoding: flags.encoding,
    ...(delimiter ? { delimiter } : {}),
    onWarning: (message) => process.stderr.write(`warning: ${message}\n`),
  });
  for await (const item of rows) {
    if (item.kind === 'rejected') rejected += 1;
    else
      users.push({
        username: item.row.spec.username,
        ...(item.row.spec.site !== undefined && { site: item.row.spec.site }),
      });
  }
  return { users, rejected };
}

/** The numeric flags, checked before any file or Redis is read. */
function parsePlanFlags(flags: PlanFlags) {
  const now = flags.now === undefined ? Date.now() : Date.parse(flags.now);
  if (Number.isNaN(now)) throw new FleetError('FR_ERR_USAGE', `--now ${flags.now}: an ISO date-time`);
  if (flags.perUserSeconds !== undefined) positiveNumber('--per-user-seconds', flags.perUserSeconds, false);
  const concurrency = positiveNumber('--concurrency', flags.concurrency, true);
  const perSiteCap =
    flags.perSiteCap === undefined ? undefined : positiveNumber('--per-site-cap', flags.perSiteCap, true);
  const usersShown = Number(flags.users);
  if (!Number.isInteger(usersShown) || usersShown < 0) {
    throw new FleetError('FR_ERR_USAGE', `--users ${flags.users}: a whole number of names shown per site`);
  }
  return { now, concurrency, perSiteCap, usersShown };
}

/** Plans the waves of the users and prints them (the campaign file's schedule and waves). */
async function printPlan(
  campaign: CampaignFile,
  campaignName: string,
  users: readonly PlanUser[],
  rejected: number,
  flags: PlanFlags,
): Promise<void> {
  const [settings, { planRollout }, { formatPlanText }, { toPlanCaps }] = await Promise.all([
    import('../../config/campaign-settings.js'),
    import('../../rollout/plan-rollout.js'),
    import('../../rollout/format-plan.js'),
    import('../../config/caps-settings.js'),
  ]);
  const { now, concurrency, perSiteCap, usersShown } = parsePlanFlags(flags);
  const perUserMs =
    flags.perUserSeconds !== undefined
      ? positiveNumber('--per-user-seconds', flags.perUserSeconds, false) * 1000
      : settings.toDeployEstimateMs(campaign);

  const schedule = settings.toRolloutSchedule(campaign);
  const waves = settings.toWavePlanSettings(campaign, campaignName);
  const plan = planRollout({
    users,
    ...(waves && { waves }),
    soakMs: settings.toWaveRule(campaign).soakMs,
    ...(schedule && { schedule }),
    perUserMs,
    minDeployMs: settings.toMinDeployMs(campaign),
    // The campaign file's `caps:` bound the agents like they bound a real run (`--per-site-cap` replaces per_site).
    ...toPlanCaps(campaign.caps, { concurrency, perSiteCap }),
    now,
  });
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ ...plan, rejected }, null, 2)}\n`);
  } else {
    process.stdout.write(formatPlanText(plan, { usersShown }));
    if (rejected > 0)
      process.stdout.write(`${rejected} rejected rows are not planned (see \`generate\` or \`import\`)\n`);
  }
  if (rejected > 0) process.exitCode = 2;
}

export function registerPlan(program: Command): void {
  const command = program
    .command('plan')
    .description(
      'dry run: the waves of a users CSV, their users per site, the next window openings and an estimated finish (no Redis)',
    )
    .argument('<csv|campaign>', 'users CSV (see README "CSV format"), or the name of an imported campaign')
    .option(
      '--campaign-file <file>',
      'campaign file with schedule: and waves: (see config/example.yaml); for a campaign name, instead of its own',
    )
    .option('--json', 'print the plan as JSON (every username, times as epoch milliseconds)', false)
    .option('--per-user-seconds <n>', 'duration of one deploy (default schedule.deploy_estimate_seconds, or 60)')
    .option('--concurrency <n>', 'deploys in flight at once across all agents (at most caps.max_in_flight)', '20')
    .option('--per-site-cap <n>', 'deploys in flight at once per site (default: caps.per_site of the campaign file)')
    .option('--now <iso>', 'plan as if it were this instant (default: now)')
    .option('--users <n>', 'usernames shown per site and wave (text output)', '3')
    .option('--encoding <encoding>', 'CSV encoding: auto, utf-8 or windows-1252', 'auto')
    .option('--delimiter <d>', 'CSV delimiter: , ; or tab (default: detected from the header)')
    .addHelpText('after', '\nExit codes: 0 planned · 2 some rows rejected (not planned) · 1 nothing could be done.')
    .action(async (source: string, flags: PlanFlags & Record<string, unknown>) => {
      if (!['auto', 'utf-8', 'windows-1252'].includes(flags.encoding)) {
        throw new FleetError('FR_ERR_USAGE', `--encoding ${flags.encoding}: use auto, utf-8 or windows-1252`);
      }
      parsePlanFlags(flags);
      const { defaultCampaignFile, loadCampaignFile } = await import('../../config/load-campaign-file.js');
      const file = flags.campaignFile ? await loadCampaignFile(flags.campaignFile) : undefined;
      if (existsSync(source) || !/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/.test(source)) {
        const campaign = file ?? defaultCampaignFile();
        const { users, rejected } = await readCsvUsers(source, campaign, flags);
        await printPlan(campaign, campaign.name ?? 'fleet-rollout', users, rejected, flags);
        return;
      }
      // An imported campaign: its users (CSV order) and its stored settings, read from Redis.
      await withContext(toConnectionFlags(flags), async (context) => {
        const input = await context.fleet.planInput(source);
        await printPlan(file ?? input.settings, source, input.users, input.skipped, flags);
      });
    });
  addConnectionOptions(command);
}
