import type { Command } from 'commander';
import { addConnectionOptions, toConnectionFlags, withContext, writeJson, writeOut } from '../context.js';

export function registerCampaigns(program: Command): void {
  addConnectionOptions(
    program
      .command('campaigns')
      .description('list campaigns with their state and counts')
      .option('--archived', 'list the archived campaigns instead (their summary and report path)', false)
      .option('--json', 'print JSON', false),
  ).action(async (flags: { json?: boolean; archived?: boolean } & Record<string, unknown>) => {
    const [{ formatCampaignLine }, { formatCampaignEntry }] = await Promise.all([
      import('../../campaign/format-status.js'),
      import('../../campaign/format-insights.js'),
    ]);
    const entry = (summary: Parameters<typeof formatCampaignEntry>[0]) =>
      formatCampaignEntry(summary, formatCampaignLine);
    await withContext(toConnectionFlags(flags), async ({ fleet }) => {
      if (flags.archived) {
        const archives = await fleet.archivedCampaigns();
        if (flags.json) await writeJson(archives);
        else
          await writeOut(
            archives.length > 0
              ? `${archives.map((a) => `${a.name}  ${a.state}  ${a.totalUsers} user(s)  archived ${new Date(a.archivedAt).toISOString()}  ${a.reportPath}`).join('\n')}\n`
              : 'no archived campaigns\n',
          );
        return;
      }
      const campaigns = await fleet.campaigns();
      if (flags.json) await writeJson(campaigns);
      else await writeOut(campaigns.length > 0 ? `${campaigns.map(entry).join('\n')}\n` : 'no campaigns\n');
    });
  });
}
