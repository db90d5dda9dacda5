import type { Command } from 'commander';
import { addConnectionOptions, toConnectionFlags, withContext, writeJson, writeOut } from '../context.js';

export function registerStart(program: Command): void {
  addConnectionOptions(
    program
      .command('start')
      .description('start (or resume) a campaign: every queued user goes to the generate stage')
      .argument('<name>', 'campaign name')
      .option('--json', 'print JSON', false),
  ).action(async (name: string, flags: { json?: boolean } & Record<string, unknown>) => {
    const { startCampaign } = await import('../../campaign/start-campaign.js');
    await withContext(toConnectionFlags(flags), async (context) => {
      const result = await startCampaign(context.store, context.queues, name, context.now());
      if (flags.json) await writeJson({ campaign: name, state: result.campaign.state, enqueued: result.enqueued });
      else await writeOut(`campaign ${name}: ${result.campaign.state}, ${result.enqueued} user(s) enqueued\n`);
    });
  });
}
