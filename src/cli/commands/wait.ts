import type { Command } from 'commander';
import { CAMPAIGN_EXIT, type OutcomeFlags, parseExitCode, parseTimeout } from '../campaign-outcome.js';
import { addConnectionOptions, toConnectionFlags, withContext, writeJson, writeOut } from '../context.js';

interface WaitFlags extends OutcomeFlags {
  readonly timeout?: number;
  readonly json?: boolean;
}

/** The outcome flags `wait` and `run --follow` share. */
export function addOutcomeOptions(command: Command): Command {
  return command
    .option(
      '--fail-exit-code <n>',
      `exit code when the campaign ends with failed users (default ${CAMPAIGN_EXIT.failedUsers})`,
      parseExitCode,
    )
    .option('--no-fail-on-failures', 'exit 0 even when the campaign ends with failed users');
}

/** How a followed campaign ended, as exit codes (README "Exit codes"). */
export const OUTCOME_CODES = `0 done, no failed user · ${CAMPAIGN_EXIT.failedUsers} done with failed users (--fail-exit-code, --no-fail-on-failures) · ${CAMPAIGN_EXIT.halted} halted (the reason is on the last line) · ${CAMPAIGN_EXIT.cancelled} cancelled`;

export function registerWait(program: Command): void {
  addConnectionOptions(
    addOutcomeOptions(
      program
        .command('wait')
        .description('wait, without drawing anything, until a campaign ends; the exit code says how it ended')
        .argument('<name>', 'campaign name')
        .option('--timeout <duration>', 'give up after this long (90, 90s, 30m, 2h)', parseTimeout)
        .option('--json', 'print the final status as JSON', false),
    ),
  )
    .addHelpText(
      'after',
      `\nExit codes: ${OUTCOME_CODES} · ${CAMPAIGN_EXIT.timeout} --timeout ran out · 1 failure (unknown campaign, Redis).`,
    )
    .action(async (name: string, flags: WaitFlags & Record<string, unknown>) => {
      const [{ followCampaign }, { formatStatusText }, outcome] = await Promise.all([
        import('./status.js'),
        import('../../campaign/format-status.js'),
        import('../campaign-outcome.js'),
      ]);
      await withContext(toConnectionFlags(flags), async (context) => {
        // A draft ends only once started: say so rather than wait in silence (a script that forgot `start`).
        if ((await context.fleet.campaign(name)).state === 'draft') {
          process.stderr.write(
            `fleet-rollout: campaign ${name} is a draft: waiting for \`fleet-rollout start ${name}\`\n`,
          );
        }
        const status = await followCampaign(context, name, 1000, {
          quiet: true,
          ...(flags.timeout !== undefined && { timeoutMs: flags.timeout }),
        });
        const code = status.timedOut ? CAMPAIGN_EXIT.timeout : outcome.campaignExitCode(status, flags);
        const last = status.timedOut
          ? `campaign ${name} still ${status.campaign.state} after the timeout: ${status.finished}/${status.total} finished`
          : outcome.describeEnding(status);
        if (flags.json) await writeJson({ ...status, exitCode: code, outcome: last });
        else await writeOut(`${formatStatusText(status)}${last}\n`);
        process.exitCode = code;
      });
    });
}
