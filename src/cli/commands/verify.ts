import type { Command } from 'commander';
import { FleetError } from '../../errors/index.js';
import { addConnectionOptions, toConnectionFlags, withContext, writeJson, writeOut } from '../context.js';
import { addSshOptions, parsePositive } from '../ssh-options.js';

interface VerifyFlags {
  readonly user?: string;
  readonly json?: boolean;
  readonly concurrency: number;
}

/**
 * `fleet-rollout verify <campaign>` — on a later contact, checks on each `applied` user's workstation that Outlook
 * consumed the PRF (ImportPRF cleared or FirstRun recreated, the profile holding the campaign's proxy and flags) and
 * records `verified` or the reason it did not take, beside the user record (the user stays `applied`).
 */
export function registerVerify(program: Command): void {
  const command = program
    .command('verify')
    .description(
      'check that Outlook consumed the staged PRF of each applied user (applied only means the registry was staged) and record verified or why not; changes nothing on the hosts',
    )
    .argument('<campaign>', 'campaign name')
    .option('--user <username>', 'verify this user only')
    .option('--json', 'print the rows and the summary as JSON', false)
    .option('--concurrency <n>', 'hosts checked at once (the agent deploys with 20 by default)', parsePositive, 20)
    .option('--local-root <dir>', 'local transport: directory of the simulated workstations');
  addConnectionOptions(addSshOptions(command)).action(
    async (name: string, flags: VerifyFlags & Record<string, unknown>) => {
      const [{ verifyCampaignUsers }, { openInspectTransport }, { createVerificationStore }] = await Promise.all([
        import('../../campaign/verify-users.js'),
        import('../inspect-transport.js'),
        import('../../store/verification-store.js'),
      ]);
      const connection = toConnectionFlags(flags);
      await withContext(connection, async (context) => {
        const campaign = await context.store.getCampaign(name);
        if (!campaign) throw new FleetError('FR_ERR_CAMPAIGN_NOT_FOUND', `no campaign named ${name}`);
        const transport = await openInspectTransport(campaign.settings, flags, {
          redis: context.redis,
          prefix: context.config.prefix,
        });
        let result: Awaited<ReturnType<typeof verifyCampaignUsers>>;
        try {
          result = await verifyCampaignUsers(
            context.store,
            name,
            { kind: 'applied', ...(flags.user !== undefined && { user: flags.user }) },
            {
              transport,
              verifications: createVerificationStore(context.redis, context.config.prefix),
              concurrency: flags.concurrency,
              now: context.now,
            },
          );
        } finally {
          await transport.close();
        }
        const { rows, summary } = result;
        if (flags.json === true) {
          await writeJson({ campaign: name, rows, summary });
          return;
        }
        const lines = rows.map((r) => `${r.host}\t${r.username}\t${r.status}${r.reason ? ` (${r.reason})` : ''}`);
        await writeOut(`${lines.join('\n')}${lines.length > 0 ? '\n' : ''}verify ${name}: ${summary}\n`);
      });
    },
  );
}
