import type { Command } from 'commander';
import type { VerifyRow } from '../../campaign/inspect-users.js';
import { FleetError } from '../../errors/index.js';
import { addConnectionOptions, toConnectionFlags, withContext, writeJson, writeOut } from '../context.js';
import { addSshOptions, parsePositive } from '../ssh-options.js';

interface VerifyFlags {
  readonly user?: string;
  readonly json?: boolean;
  readonly concurrency: number;
}

/** "3 verified, 1 pending-restart, 1 not-taken" */
export function summarizeVerification(rows: readonly VerifyRow[]): string {
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(row.status, (counts.get(row.status) ?? 0) + 1);
  const parts = [...counts.entries()].map(([status, n]) => `${n} ${status}`);
  return parts.length > 0 ? parts.join(', ') : 'no applied user to verify';
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
      const [{ verifyUsers }, { openInspectTransport }, { createVerificationStore }, { toUserKey }] = await Promise.all(
        [
          import('../../campaign/inspect-users.js'),
          import('../inspect-transport.js'),
          import('../../store/verification-store.js'),
          import('../../store/keys.js'),
        ],
      );
      const connection = toConnectionFlags(flags);
      await withContext(connection, async (context) => {
        const campaign = await context.store.getCampaign(name);
        if (!campaign) throw new FleetError('FR_ERR_CAMPAIGN_NOT_FOUND', `no campaign named ${name}`);
        const store = context.store;
        async function* subjects() {
          const only = flags.user === undefined ? undefined : toUserKey(flags.user);
          for await (const users of store.scanUsers(name, { state: 'applied' })) {
            for (const user of users) {
              if (only !== undefined && user.userKey !== only) continue;
              const attempts = await store.getAttempts(name, user.userKey);
              yield {
                userKey: user.userKey,
                spec: user.spec,
                attempts,
                ...(user.checksum && { checksum: user.checksum }),
              };
            }
          }
        }
        const transport = await openInspectTransport(campaign.settings, flags, {
          redis: context.redis,
          prefix: context.config.prefix,
        });
        let rows: VerifyRow[];
        try {
          rows = await verifyUsers(subjects(), {
            campaign: name,
            file: campaign.settings,
            transport,
            concurrency: flags.concurrency,
            timeoutMs: campaign.settings.deploy.timeout_seconds * 1000,
          });
        } finally {
          await transport.close();
        }
        const verifications = createVerificationStore(context.redis, context.config.prefix);
        const at = context.now();
        for (const row of rows) {
          await verifications.save(name, row.userKey, { status: row.status, reason: row.reason, host: row.host, at });
        }
        const summary = summarizeVerification(rows);
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
