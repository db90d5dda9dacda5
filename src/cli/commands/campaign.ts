import type { Command } from 'commander';
import { addConnectionOptions, cliActor, toConnectionFlags, withContext, writeJson, writeOut } from '../context.js';
import { parsePositive } from '../ssh-options.js';

interface RetireFlags {
  readonly force?: boolean;
  readonly json?: boolean;
  readonly reportDir?: string;
}

interface PruneFlags {
  readonly olderThanDays?: number;
  readonly dryRun?: boolean;
  readonly json?: boolean;
  readonly reportDir?: string;
}

const FORCE_HELP =
  'also when the campaign is running, paused or halted, or has steps on workstations or active jobs (their outcome is lost)';

/**
 * `campaign delete|archive|prune`: whole campaigns out of Redis (records, both queues, every key), archive keeping
 * the final report in the report folder and a summary (`campaigns --archived`). Every action goes to the audit trail.
 */
export function registerCampaignAdmin(program: Command): void {
  const campaign = program.command('campaign').description('delete, archive or prune whole campaigns');
  addConnectionOptions(
    campaign
      .command('delete')
      .description('delete a campaign: its users, history, events and both queues (cancel it first)')
      .argument('<name>', 'campaign name')
      .option('--force', FORCE_HELP, false)
      .option('--json', 'print JSON', false),
  ).action(async (name: string, flags: RetireFlags & Record<string, unknown>) => {
    await withContext(toConnectionFlags(flags), async ({ fleet }) => {
      const result = await fleet.deleteCampaign(name, { force: flags.force === true });
      await fleet.audit({
        who: cliActor(),
        action: 'campaign-delete',
        campaign: name,
        users: result.users,
        outcome: `deleted (was ${result.state})${flags.force ? ', forced' : ''}`,
      });
      if (flags.json) await writeJson(result);
      else await writeOut(`campaign ${name} deleted: ${result.users} user(s), ${result.keys} Redis key(s)\n`);
    });
  });
  addConnectionOptions(
    campaign
      .command('archive')
      .description(
        'write the final report (CSV) to the report folder, keep a summary (campaigns --archived), delete the rest',
      )
      .argument('<name>', 'campaign name')
      .option(
        '--report-dir <dir>',
        'where <name>-archive-<time>.csv is written (env FLEET_REPORT_DIR; default reports)',
      )
      .option('--force', FORCE_HELP, false)
      .option('--json', 'print JSON', false),
  ).action(async (name: string, flags: RetireFlags & Record<string, unknown>) => {
    await withContext(toConnectionFlags(flags), async ({ fleet }) => {
      const result = await fleet.archiveCampaign(name, {
        force: flags.force === true,
        ...(flags.reportDir !== undefined && { reportDir: flags.reportDir }),
      });
      await fleet.audit({
        who: cliActor(),
        action: 'campaign-archive',
        campaign: name,
        users: result.users,
        outcome: `archived to ${result.reportPath}${flags.force ? ', forced' : ''}`,
      });
      if (flags.json) await writeJson(result);
      else await writeOut(`campaign ${name} archived: ${result.users} user(s), report ${result.reportPath}\n`);
    });
  });
  addConnectionOptions(
    campaign
      .command('prune')
      .description('archive every finished (done or cancelled) campaign older than the retention')
      .option(
        '--older-than-days <n>',
        'retention in days, counted from when the campaign finished (env FLEET_RETENTION_DAYS)',
        parsePositive,
      )
      .option('--dry-run', 'only list the campaigns it would archive', false)
      .option('--report-dir <dir>', 'where the archived reports go (env FLEET_REPORT_DIR; default reports)')
      .option('--json', 'print JSON', false),
  ).action(async (flags: PruneFlags & Record<string, unknown>) => {
    await withContext(toConnectionFlags(flags), async ({ fleet }) => {
      const result = await fleet.pruneCampaigns({
        ...(flags.olderThanDays !== undefined && { olderThanDays: flags.olderThanDays }),
        dryRun: flags.dryRun === true,
        ...(flags.reportDir !== undefined && { reportDir: flags.reportDir }),
      });
      for (const archived of result.archived) {
        await fleet.audit({
          who: cliActor(),
          action: 'campaign-archive',
          campaign: archived.campaign,
          users: archived.users,
          outcome: `pruned: archived to ${archived.reportPath}`,
        });
      }
      if (flags.json) {
        await writeJson(result);
        return;
      }
      const lines = [
        ...result.archived.map((a) => `archived ${a.campaign}: ${a.users} user(s), report ${a.reportPath}`),
        ...result.wouldArchive.map((name) => `would archive ${name}`),
        ...result.skipped.map((s) => `kept ${s.campaign}: ${s.reason}`),
      ];
      await writeOut(lines.length > 0 ? `${lines.join('\n')}\n` : 'nothing to prune\n');
    });
  });
}
