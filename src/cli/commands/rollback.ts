import type { Command } from 'commander';
import { FleetError } from '../../errors/index.js';
import { USER_STATES, type UserState } from '../../rollout/states.js';
import { addConnectionOptions, toConnectionFlags, withContext, writeJson, writeOut } from '../context.js';

interface RollbackFlags {
  readonly user?: string;
  readonly state?: string;
  readonly json?: boolean;
}

export function registerRollback(program: Command): void {
  const command = program
    .command('rollback')
    .description("restore the registry values saved before a user's profile was applied (the agents do the work)")
    .argument('<campaign>', 'campaign name')
    .option('--user <username>', 'roll back this user only')
    .option('--state <state>', 'roll back users in this state: applied (default) or failed')
    .option('--json', 'print the result as JSON', false);
  addConnectionOptions(command).action(async (name: string, flags: RollbackFlags & Record<string, unknown>) => {
    if (flags.user !== undefined && flags.state !== undefined) {
      throw new FleetError('FR_ERR_USAGE', 'use --user or --state, not both');
    }
    if (flags.state !== undefined && !(USER_STATES as readonly string[]).includes(flags.state)) {
      throw new FleetError('FR_ERR_USAGE', `--state ${flags.state}: not a user state`);
    }
    const { rollbackUsers } = await import('../../campaign/rollback.js');
    await withContext(toConnectionFlags(flags), async (context) => {
      const result = await rollbackUsers(
        context.store,
        context.queues,
        name,
        {
          ...(flags.user !== undefined && { user: flags.user }),
          ...(flags.state !== undefined && { state: flags.state as UserState }),
        },
        context.now(),
      );
      if (flags.json === true) await writeJson({ campaign: name, ...result });
      else
        await writeOut(
          `rollback ${name}: ${result.enqueued} user(s) queued for rollback (campaign ${result.campaignState})\n`,
        );
    });
  });
}
