import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import type { ProbeRow, ProbeSummary } from '../../campaign/inspect-users.js';
import type { CampaignFile } from '../../config/campaign-schema.js';
import type { UserSpec } from '../../csv/user-spec.js';
import { FleetError } from '../../errors/index.js';
import {
  addConnectionOptions,
  resolveCliConfig,
  toConnectionFlags,
  withContext,
  writeJson,
  writeOut,
} from '../context.js';
import { addSshOptions, parsePositive } from '../ssh-options.js';

interface ProbeFlags {
  readonly campaignFile?: string;
  readonly json?: boolean;
  readonly csv?: string;
  readonly concurrency: number;
}

const CSV_HEADER = ['host', 'user', 'office', 'verdict', 'reason', 'os', 'powershell', 'default_shell', 'exit_codes'];

function toCells(row: ProbeRow): string[] {
  const r = row.report;
  const exits = r?.exitPassThrough === undefined ? '' : r.exitPassThrough ? 'pass through' : 'collapsed to 1';
  return [
    row.host,
    row.username,
    row.office,
    row.verdict,
    row.reason,
    r?.os ?? '',
    r?.psVersion ?? '',
    r?.defaultShell ?? '',
    exits,
  ];
}

function formatTable(result: ProbeSummary): string {
  const lines = result.rows.map((row) => {
    const r = row.report;
    const extra = r
      ? ` · ${r.os} · PS ${r.psVersion} · shell ${r.defaultShell}${r.exitPassThrough === false ? ' (exit codes collapse to 1: read from JSON)' : ''}`
      : '';
    return `${row.host}\t${row.username}\t${row.office}\t${row.verdict}${row.reason ? ` (${row.reason})` : ''}${extra}`;
  });
  return `${lines.join('\n')}${lines.length > 0 ? '\n' : ''}${result.summary}\n`;
}

/**
 * `fleet-rollout probe <csv|campaign> [--json]` — a read-only preflight over SSH of every user's workstation, at the
 * deploy's concurrency and with the agent's host-key policy; nothing is changed on any host.
 */
export function registerProbe(program: Command): void {
  const command = program
    .command('probe')
    .description(
      "read-only preflight of each user's workstation (reachable, host key, Windows and PowerShell versions, sshd DefaultShell, exit-code pass-through, staging ACL, Outlook, profile, override values); changes nothing",
    )
    .argument('<source>', 'a roster CSV (settings from --campaign-file) or the name of an imported campaign')
    .option('--campaign-file <file>', 'campaign settings (YAML/JSON) when <source> is a CSV')
    .option('--json', 'print the rows and the summary as JSON', false)
    .option('--csv <file>', 'also write the per-host table as formula-safe CSV')
    .option('--concurrency <n>', 'hosts probed at once (the agent deploys with 20 by default)', parsePositive, 20)
    .option('--local-root <dir>', 'local transport: directory of the simulated workstations');
  addConnectionOptions(addSshOptions(command)).action(
    async (source: string, flags: ProbeFlags & Record<string, unknown>) => {
      const [{ probeUsers }, { openInspectTransport, needsRedisForHostKeys }] = await Promise.all([
        import('../../campaign/inspect-users.js'),
        import('../inspect-transport.js'),
      ]);
      const isCsv = source.toLowerCase().endsWith('.csv') || existsSync(source);
      const run = async (
        file: CampaignFile,
        name: string,
        specs: AsyncIterable<UserSpec>,
        redis?: import('ioredis').Redis,
      ) => {
        const { prefix } = await resolveCliConfig(toConnectionFlags(flags));
        const transport = await openInspectTransport(file, flags, {
          ...(redis && { redis }),
          prefix,
        });
        try {
          return await probeUsers(specs, {
            campaign: name,
            file,
            transport,
            concurrency: flags.concurrency,
            timeoutMs: file.deploy.timeout_seconds * 1000,
          });
        } finally {
          await transport.close();
        }
      };
      let result: ProbeSummary;
      if (isCsv) {
        const { csvSpecs, loadSettings } = await import('../probe-source.js');
        const file = await loadSettings(flags.campaignFile);
        const specs = csvSpecs(source, file, (line) => process.stderr.write(`${line}\n`));
        result = needsRedisForHostKeys(flags)
          ? await withContext(toConnectionFlags(flags), (context) => run(file, 'probe', specs, context.redis))
          : await run(file, 'probe', specs);
      } else {
        const { campaignSpecs } = await import('../probe-source.js');
        result = await withContext(toConnectionFlags(flags), async (context) => {
          const campaign = await context.store.getCampaign(source);
          if (!campaign) throw new FleetError('FR_ERR_CAMPAIGN_NOT_FOUND', `no campaign named ${source}`);
          return run(campaign.settings, source, campaignSpecs(context.store, source), context.redis);
        });
      }
      if (flags.csv !== undefined) {
        const { writeCsvTable } = await import('../probe-source.js');
        await writeCsvTable(flags.csv, CSV_HEADER, result.rows.map(toCells));
      }
      if (flags.json === true) await writeJson(result);
      else await writeOut(formatTable(result));
    },
  );
}
