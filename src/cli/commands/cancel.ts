import type { Command } from 'commander';
import { addConnectionOptions, toConnectionFlags, withContext, writeJson, writeOut } from '../context.js';

export function registerCancel(program: Command): void {
  addConnectionOptions(
    program
      .command('cancel')
      .description('cancel a campaign: waiting jobs are removed and every user still in flight ends cancelled')
      .argument('<name>', 'campaign name')
      .option('--json', 'print JSON', false),
  ).action(async (name: string, flags: { json?: boolean } & Record<string, unknown>) => {
    const { cancelCampaign } = await import('../../campaign/control-campaign.js');
    await withContext(toConnectionFlags(flags), async (context) => {
      const result = await cancelCampaign(context.store, context.queues, name, context.now());
      if (flags.json) await writeJson({ campaign: name, state: result.campaign.state, cancelled: result.cancelled });
      else await writeOut(`campaign ${name}: ${result.campaign.state}, ${result.cancelled} user(s) cancelled\n`);
    });
  });
}
