import type { Command } from 'commander';
import { addConnectionOptions, toConnectionFlags, withContext, writeJson, writeOut } from '../context.js';

export function registerResume(program: Command): void {
  addConnectionOptions(
    program
      .command('resume')
      .description('resume a paused or halted campaign')
      .argument('<name>', 'campaign name')
      .option('--json', 'print JSON', false),
  ).action(async (name: string, flags: { json?: boolean } & Record<string, unknown>) => {
    const { resumeCampaign } = await import('../../campaign/control-campaign.js');
    await withContext(toConnectionFlags(flags), async (context) => {
      const campaign = await resumeCampaign(context.store, context.queues, name, context.now());
      if (flags.json) await writeJson({ campaign: name, state: campaign.state });
      else await writeOut(`campaign ${name}: ${campaign.state}\n`);
    });
  });
}
