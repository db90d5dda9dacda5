import { join } from 'node:path';
import type { Command } from 'commander';
import type { OutcomeFlags } from '../campaign-outcome.js';
import { toConnectionFlags, withContext, writeJson, writeOut } from '../context.js';
import {
  addImportOptions,
  describeImport,
  type ImportFlags,
  importFromFlags,
  prepareImport,
  printImport,
} from './import.js';
import { followCampaign } from './status.js';
import { addOutcomeOptions, OUTCOME_CODES } from './wait.js';

interface RunFlags extends ImportFlags, OutcomeFlags {
  readonly follow?: boolean;
}

export function registerRun(program: Command): void {
  const command = program
    .command('run')
    .description('import a users CSV into a campaign and start it (agents do the work: `fleet-rollout agent`)');
  addOutcomeOptions(addImportOptions(command))
    .option('--follow', 'show live progress until the campaign is done, then the summary', false)
    .addHelpText(
      'after',
      `\nExit codes: 0 started · 2 rows rejected (nothing started without --allow-rejects) · 1 failure.\nWith --follow: ${OUTCOME_CODES}.`,
    )
    .action(async (csvPath: string, flags: RunFlags & Record<string, unknown>) => {
      const prepared = await prepareImport(flags);
      const [{ formatStatusText }, { writeReportFile }, outcome] = await Promise.all([
        import('../../campaign/format-status.js'),
        import('../../campaign/write-report-file.js'),
        import('../campaign-outcome.js'),
      ]);
      const { campaign } = prepared;
      await withContext(toConnectionFlags(flags), async (context) => {
        // Started as soon as every row is validated: agents work while the later batches are still being written.
        const result = await importFromFlags(context, csvPath, flags, prepared, { start: true });
        if (!result.imported) {
          await printImport(campaign, result, flags.json === true);
          return;
        }
        const started = result.started ?? (await context.fleet.start(campaign));
        if (result.rejected > 0) process.exitCode = 2;
        if (!flags.follow) {
          if (flags.json)
            await writeJson({
              campaign: campaign,
              ...result,
              enqueued: started.enqueued,
              state: started.campaign.state,
            });
          else
            await writeOut(
              `${describeImport(campaign, result)}started: ${started.enqueued} user(s) enqueued, campaign ${started.campaign.state}\n`,
            );
          return;
        }
        if (!flags.json) await writeOut(describeImport(campaign, result));
        const status = await followCampaign(context, campaign, 1000, { quiet: flags.json === true });
        const reportPath = join(flags.reportDir ?? context.config.reportDir, `${campaign}-report.csv`);
        await writeReportFile(context.fleet.report(campaign), 'csv', reportPath);
        const code = outcome.campaignExitCode(status, flags);
        if (code !== 0) process.exitCode = code;
        const last = outcome.describeEnding(status);
        if (flags.json)
          await writeJson({
            campaign,
            import: result,
            status,
            reportPath,
            exitCode: process.exitCode ?? 0,
            outcome: last,
          });
        else {
          // The rejected rows' report was named by the import summary above (no longer wiped by the redraw).
          await writeOut(`${formatStatusText(status)}report: ${reportPath}\n${last}\n`);
        }
      });
    });
}
