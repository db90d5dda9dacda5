import type { Command } from 'commander';
import { addConnectionOptions, toConnectionFlags, withContext, writeJson, writeOut } from '../context.js';

export function registerCampaigns(program: Command): void {
  addConnectionOptions(
    program
      .command('campaigns')
      .description('list campaigns with their state and counts')
      .option('--json', 'print JSON', false),
  ).action(async (flags: { json?: boolean } & Record<string, unknown>) => {
    const [{ formatCampaignLine }, { formatCampaignEntry }] = await Promise.all([
      import('../../campaign/format-status.js'),
      import('../../campaign/format-insights.js'),
    ]);
    const entry = (summary: Parameters<typeof formatCampaignEntry>[0]) =>
      formatCampaignEntry(summary, formatCampaignLine);
    await withContext(toConnectionFlags(flags), async ({ fleet }) => {
      const campaigns = await fleet.campaigns();
      if (flags.json) await writeJson(campaigns);
      else await writeOut(campaigns.length > 0 ? `${campaigns.map(entry).join('\n')}\n` : 'no campaigns\n');
    });
  });
}
