import type { Command } from 'commander';
import { addConnectionOptions, toConnectionFlags, withContext, writeJson, writeOut } from '../context.js';

export function registerPause(program: Command): void {
  addConnectionOptions(
    program
      .command('pause')
      .description('pause a running campaign (jobs already running finish; nothing new starts)')
      .argument('<name>', 'campaign name')
      .option('--json', 'print JSON', false),
  ).action(async (name: string, flags: { json?: boolean } & Record<string, unknown>) => {
    const { pauseCampaign } = await import('../../campaign/control-campaign.js');
    await withContext(toConnectionFlags(flags), async (context) => {
      const campaign = await pauseCampaign(context.store, context.queues, name, context.now());
      if (flags.json) await writeJson({ campaign: name, state: campaign.state });
      else await writeOut(`campaign ${name}: ${campaign.state}\n`);
    });
  });
}
