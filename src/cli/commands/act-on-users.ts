import type { Command } from 'commander';
import type { ActionResult, UserSelection } from '../../campaign/act-on-users.js';
import { addConnectionOptions, toConnectionFlags, withContext, writeJson, writeOut } from '../context.js';

interface SelectionFlags {
  readonly user?: string;
  readonly state?: string;
  readonly code?: string;
  readonly site?: string;
  readonly json?: boolean;
}

/** --user, --state, --code, --site: the same selection for retry and rollback (and the dashboard's filters). */
function addSelectionOptions(command: Command, defaultState: string): Command {
  return command
    .option('--user <username>', 'only this user (any state unless --state is given)')
    .option('--state <state>', `only users in this state (default ${defaultState})`)
    .option('--code <code>', 'only users whose last error has this code, or wraps it (attempts exhausted)')
    .option('--site <site>', 'only users of this site')
    .option('--json', 'print JSON', false);
}

function toSelection(flags: SelectionFlags): UserSelection {
  return {
    ...(flags.user !== undefined && { user: flags.user }),
    ...(flags.state !== undefined && { state: flags.state }),
    ...(flags.code !== undefined && { code: flags.code }),
    ...(flags.site !== undefined && { site: flags.site }),
  };
}

function describe(verb: string, name: string, result: ActionResult): string {
  const lines = [`${verb} ${name}: ${result.moved} user(s) queued; campaign ${result.campaignState}`];
  for (const [reason, count] of Object.entries(result.refused)) lines.push(`  ${count} not queued: ${reason}`);
  return `${lines.join('\n')}\n`;
}

export function registerUserActions(program: Command): void {
  const actions = [
    {
      name: 'retry',
      description: 'queue matching users again (default: failed users; a failed rollback is retried as a rollback)',
      defaultState: 'failed and rollback-failed',
      verb: 'retry',
    },
    {
      name: 'rollback',
      description: "restore the registry values saved before a user's profile was applied (the agents do the work)",
      defaultState: 'applied',
      verb: 'rollback',
    },
  ] as const;
  for (const action of actions) {
    addConnectionOptions(
      addSelectionOptions(
        program.command(action.name).description(action.description).argument('<name>', 'campaign name'),
        action.defaultState,
      ),
    )
      .addHelpText('after', '\nExit codes: 0 done (the counts say what moved and why the others did not) · 1 failure.')
      .action(async (name: string, flags: SelectionFlags & Record<string, unknown>) => {
        await withContext(toConnectionFlags(flags), async ({ fleet }) => {
          const selection = toSelection(flags);
          const result =
            action.name === 'retry' ? await fleet.retry(name, selection) : await fleet.rollback(name, selection);
          if (flags.json) await writeJson({ campaign: name, ...result });
          else await writeOut(describe(action.verb, name, result));
        });
      });
  }
  addConnectionOptions(
    program
      .command('remove')
      .description('remove one user from a campaign (record and history); refused while a step runs on its workstation')
      .argument('<name>', 'campaign name')
      .argument('<username>', 'the user to remove')
      .option('--json', 'print JSON', false),
  ).action(async (name: string, username: string, flags: { json?: boolean } & Record<string, unknown>) => {
    await withContext(toConnectionFlags(flags), async ({ fleet }) => {
      const result = await fleet.remove(name, username);
      if (!result.removed) process.exitCode = 1;
      if (flags.json) await writeJson({ campaign: name, user: username, ...result });
      else await writeOut(result.removed ? `removed ${username} from ${name}\n` : `not removed: ${result.reason}\n`);
    });
  });
}
