import type { Command } from 'commander';
import { addConnectionOptions, toConnectionFlags, withContext, writeJson, writeOut } from '../context.js';
import { parseStateOption } from './report.js';

interface RetryFlags {
  readonly user?: string;
  readonly state?: string;
  readonly code?: string;
  readonly site?: string;
  readonly json?: boolean;
}

export function registerRetry(program: Command): void {
  addConnectionOptions(
    program
      .command('retry')
      .description('re-queue matching users in batches (default: every failed user) with the campaign settings')
      .argument('<name>', 'campaign name')
      .option('--user <username>', 'only this user (any state unless --state is given)')
      .option('--state <state>', 'only users in this state (default failed; queued = users that never started)')
      .option('--code <code>', 'only users whose last error has this code')
      .option('--site <site>', 'only users of this site')
      .option('--json', 'print JSON', false),
  )
    .addHelpText('after', '\nExit codes: 0 done (also when nothing matched; the count says so) · 1 failure.')
    .action(async (name: string, flags: RetryFlags & Record<string, unknown>) => {
      const state = parseStateOption(flags.state);
      const { retryUsers } = await import('../../campaign/retry-users.js');
      await withContext(toConnectionFlags(flags), async (context) => {
        const result = await retryUsers(
          context.store,
          context.queues,
          name,
          {
            ...(state !== undefined && { state }),
            ...(flags.user !== undefined && { user: flags.user }),
            ...(flags.code !== undefined && { code: flags.code }),
            ...(flags.site !== undefined && { site: flags.site }),
          },
          context.now(),
        );
        if (flags.json) await writeJson({ campaign: name, ...result });
        else await writeOut(`retry ${name}: ${result.requeued} user(s) re-queued; campaign ${result.campaignState}\n`);
      });
    });
}
