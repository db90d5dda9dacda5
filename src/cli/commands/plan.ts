import type { Command } from 'commander';
import type { CsvEncoding } from '../../csv/index.js';
import { FleetError } from '../../errors/index.js';

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

/** Reads the CSV (validated like an import), plans the waves and prints them; touches no Redis. */
async function runPlan(csvPath: string, flags: PlanFlags): Promise<void> {
  const [
    { checkRosterRows },
    { defaultCampaignFile, loadCampaignFile },
    settings,
    { planRollout },
    { formatPlanText },
  ] = await Promise.all([
    import('../../campaign/validate-roster.js'),
    import('../../config/load-campaign-file.js'),
    import('../../config/campaign-settings.js'),
    import('../../rollout/plan-rollout.js'),
    import('../../rollout/format-plan.js'),
  ]);
  const { parseDelimiterOption } = await import('../../csv/index.js');
  const delimiter = flags.delimiter === undefined ? undefined : parseDelimiterOption(flags.delimiter);
  if (flags.delimiter !== undefined && !delimiter) {
    throw new FleetError('FR_ERR_USAGE', `--delimiter ${JSON.stringify(flags.delimiter)}: use , ; or tab`);
  }
  const now = flags.now === undefined ? Date.now() : Date.parse(flags.now);
  if (Number.isNaN(now)) throw new FleetError('FR_ERR_USAGE', `--now ${flags.now}: an ISO date-time`);
  const campaign = flags.campaignFile ? await loadCampaignFile(flags.campaignFile) : defaultCampaignFile();
  const perUserMs =
    flags.perUserSeconds !== undefined
      ? positiveNumber('--per-user-seconds', flags.perUserSeconds, false) * 1000
      : settings.toDeployEstimateMs(campaign);
  const concurrency = positiveNumber('--concurrency', flags.concurrency, true);
  const perSiteCap =
    flags.perSiteCap === undefined ? undefined : positiveNumber('--per-site-cap', flags.perSiteCap, true);
  const usersShown = Number(flags.users);
  if (!Number.isInteger(usersShown) || usersShown < 0) {
    throw new FleetError('FR_ERR_USAGE', `--users ${flags.users}: a whole number of names shown per site`);
  }

  const users: { username: string; site?: string }[] = [];
  let rejected = 0;
  const rows = checkRosterRows(csvPath, campaign, settings.toProfileOptions(campaign), {
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

  const schedule = settings.toRolloutSchedule(campaign);
  const waves = settings.toWavePlanSettings(campaign, campaign.name ?? 'fleet-rollout');
  const plan = planRollout({
    users,
    ...(waves && { waves }),
    soakMs: settings.toWaveRule(campaign).soakMs,
    ...(schedule && { schedule }),
    perUserMs,
    minDeployMs: settings.toMinDeployMs(campaign),
    concurrency,
    ...(perSiteCap !== undefined && { perSiteCap }),
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
  program
    .command('plan')
    .description(
      'dry run: the waves of a users CSV, their users per site, the next window openings and an estimated finish (no Redis)',
    )
    .argument('<csv>', 'users CSV (see README "CSV format")')
    .option('--campaign-file <file>', 'campaign file with schedule: and waves: (see config/example.yaml)')
    .option('--json', 'print the plan as JSON (every username, times as epoch milliseconds)', false)
    .option('--per-user-seconds <n>', 'duration of one deploy (default schedule.deploy_estimate_seconds, or 60)')
    .option('--concurrency <n>', 'deploys in flight at once across all agents', '20')
    .option('--per-site-cap <n>', 'deploys in flight at once per site')
    .option('--now <iso>', 'plan as if it were this instant (default: now)')
    .option('--users <n>', 'usernames shown per site and wave (text output)', '3')
    .option('--encoding <encoding>', 'CSV encoding: auto, utf-8 or windows-1252', 'auto')
    .option('--delimiter <d>', 'CSV delimiter: , ; or tab (default: detected from the header)')
    .addHelpText('after', '\nExit codes: 0 planned · 2 some rows rejected (not planned) · 1 nothing could be done.')
    .action(async (csvPath: string, flags: PlanFlags) => {
      if (!['auto', 'utf-8', 'windows-1252'].includes(flags.encoding)) {
        throw new FleetError('FR_ERR_USAGE', `--encoding ${flags.encoding}: use auto, utf-8 or windows-1252`);
      }
      await runPlan(csvPath, flags);
    });
}
