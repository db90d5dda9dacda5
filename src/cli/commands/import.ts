import type { Command } from 'commander';
import type { ImportResult } from '../../campaign/import-campaign.js';
import type { DeployOverrideFlags } from '../../config/apply-deploy-overrides.js';
import type { ScheduleOverrideFlags } from '../../config/apply-schedule-overrides.js';
import type { CampaignFile } from '../../config/campaign-schema.js';
import type { CsvEncoding, Delimiter } from '../../csv/index.js';
import { FleetError } from '../../errors/index.js';
import { addCapsOptions } from '../caps-options.js';
import {
  addConnectionOptions,
  type CliContext,
  toConnectionFlags,
  withContext,
  writeJson,
  writeOut,
} from '../context.js';
import { addScheduleOptions } from './schedule-options.js';

export interface ImportFlags extends DeployOverrideFlags, ScheduleOverrideFlags {
  readonly campaign?: string;
  readonly campaignFile?: string;
  readonly transport?: string;
  readonly allowRejects?: boolean;
  readonly prune?: boolean;
  readonly reportDir?: string;
  readonly encoding: string;
  readonly delimiter?: string;
  readonly json?: boolean;
}

/** The options `import` and `run` share. */
export function addImportOptions(command: Command): Command {
  return addConnectionOptions(
    addCapsOptions(addScheduleOptions(command))
      .argument('<csv>', 'users CSV (see README "CSV format")')
      .option(
        '--campaign <name>',
        'campaign name: 1-64 letters, digits, _ or - (default: `name:` of the campaign file)',
      )
      .option('--campaign-file <file>', 'campaign file (YAML or JSON): defaults, profile, retry, deploy')
      .option('--transport <transport>', 'local or ssh (overrides deploy.transport of the campaign file)')
      .option('--ssh-user <login>', 'ssh: login on the workstations (overrides deploy.ssh.user)')
      .option('--ssh-port <port>', 'ssh: port of the workstations (overrides deploy.ssh.port; default 22)')
      .option('--target-os <os>', 'ssh: windows or posix (overrides deploy.ssh.target_os; default windows)')
      .option(
        '--staging-dir <dir>',
        'ssh: absolute upload directory on the workstations (overrides deploy.ssh.staging_dir)',
      )
      .option(
        '--apply-command <template>',
        "ssh: name (or exact text) of a template on the agents' --allow-apply-commands list; a template needs {script} {prf} {user} {office} {campaign} {checksum} (overrides deploy.ssh.apply_command)",
      )
      .option('--allow-rejects', 'queue the valid rows even if some rows are rejected', false)
      .option('--prune', 'remove the users whose rows are no longer in the CSV (counted either way)', false)
      .option('--report-dir <dir>', 'where <campaign>-rejected.csv is written (env FLEET_REPORT_DIR; default reports)')
      .option('--encoding <encoding>', 'CSV encoding: auto, utf-8 or windows-1252', 'auto')
      .option('--delimiter <d>', 'CSV delimiter: , ; or tab (default: detected from the header)')
      .option('--json', 'print the result as JSON', false)
      .addHelpText(
        'after',
        '\nThe ssh flags replace the values of deploy.ssh in the campaign file (checked by the same rules);\n' +
          'its deploy.sites entries still win for the users of their site.',
      ),
  );
}

/** What `import`/`run` check before opening Redis: flags, the campaign file and the flags laid over it. */
export interface PreparedImport {
  /** --campaign, else the campaign file's `name:`. */
  readonly campaign: string;
  /** The campaign file as loaded (no flags applied), absent without --campaign-file. */
  readonly file?: CampaignFile;
  readonly delimiter?: Delimiter;
}

/**
 * Validates the flags and builds the campaign settings: the campaign file (or the defaults), then the --ssh-…,
 * --target-os, --staging-dir and --apply-command flags over its `deploy.ssh` (its `deploy.sites` still win per site).
 */
export async function prepareImport(flags: ImportFlags): Promise<PreparedImport> {
  if (!['auto', 'utf-8', 'windows-1252'].includes(flags.encoding)) {
    throw new FleetError('FR_ERR_USAGE', `--encoding ${flags.encoding}: use auto, utf-8 or windows-1252`);
  }
  if (flags.transport !== undefined && flags.transport !== 'local' && flags.transport !== 'ssh') {
    throw new FleetError('FR_ERR_USAGE', `--transport ${flags.transport}: use local or ssh`);
  }
  const [
    { parseDelimiterOption },
    { defaultCampaignFile, loadCampaignFile },
    { applyDeployOverrides },
    { applyScheduleOverrides },
  ] = await Promise.all([
    import('../../csv/index.js'),
    import('../../config/load-campaign-file.js'),
    import('../../config/apply-deploy-overrides.js'),
    import('../../config/apply-schedule-overrides.js'),
  ]);
  const delimiter = flags.delimiter === undefined ? undefined : parseDelimiterOption(flags.delimiter);
  if (flags.delimiter !== undefined && !delimiter) {
    throw new FleetError('FR_ERR_USAGE', `--delimiter ${JSON.stringify(flags.delimiter)}: use , ; or tab`);
  }
  const file = flags.campaignFile ? await loadCampaignFile(flags.campaignFile) : undefined;
  const campaign = flags.campaign ?? file?.name;
  if (campaign === undefined) {
    throw new FleetError(
      'FR_ERR_USAGE',
      file ? `--campaign NAME is required: ${flags.campaignFile} has no name:` : '--campaign NAME is required',
    );
  }
  // Checked now, before Redis is opened: the flags must be valid over the file (or the defaults).
  applyScheduleOverrides(applyDeployOverrides(file ?? defaultCampaignFile(), flags), flags);
  return { campaign, ...(file && { file }), ...(delimiter && { delimiter }) };
}

export async function importFromFlags(
  context: CliContext,
  csvPath: string,
  flags: ImportFlags,
  prepared: PreparedImport,
  options: { readonly start?: boolean } = {},
): Promise<ImportResult> {
  return context.fleet.importCsv({
    campaign: prepared.campaign,
    source: { path: csvPath },
    ...(prepared.file && { settings: prepared.file }),
    deployOverrides: flags,
    scheduleOverrides: flags,
    ...(options.start === true && { start: true }),
    ...(flags.transport !== undefined && { transport: flags.transport as 'local' | 'ssh' }),
    allowRejects: flags.allowRejects === true,
    prune: flags.prune === true,
    reportDir: flags.reportDir ?? context.config.reportDir,
    encoding: flags.encoding as CsvEncoding,
    ...(prepared.delimiter && { delimiter: prepared.delimiter }),
    onWarning: printOnce((message) => process.stderr.write(`fleet-rollout: warning: ${message}\n`)),
  });
}

/** The import reads the CSV twice (validate, then write): each warning about the file is printed once. */
function printOnce(print: (message: string) => void): (message: string) => void {
  const printed = new Set<string>();
  return (message) => {
    if (printed.has(message)) return;
    printed.add(message);
    print(message);
  };
}

/** Text summary of an import; exit code 2 when rows were rejected (whether or not the rest was imported). */
export function describeImport(campaign: string, result: ImportResult): string {
  const report = result.reportPath ? ` (rejected rows listed in ${result.reportPath})` : '';
  const head = `import ${campaign}: ${result.valid} valid, ${result.rejected} rejected${report}\n`;
  if (!result.imported) {
    return result.valid === 0
      ? `${head}nothing imported: no valid row\n`
      : `${head}nothing imported: fix the rejected rows or pass --allow-rejects\n`;
  }
  const missing =
    result.missing > 0
      ? `${result.missing} user(s) of the campaign are no longer in the CSV and are still deployed (re-import with --prune to remove them)\n`
      : '';
  const pruned = result.pruned > 0 ? `${result.pruned} user(s) no longer in the CSV removed\n` : '';
  return `${head}added ${result.added}, changed ${result.changed}, unchanged ${result.unchanged} → ${result.queued} user(s) queued\n${pruned}${missing}`;
}

export async function printImport(campaign: string, result: ImportResult, json: boolean): Promise<void> {
  if (result.rejected > 0) process.exitCode = 2;
  else if (!result.imported) process.exitCode = 1;
  if (json) await writeJson({ campaign, ...result });
  else await writeOut(describeImport(campaign, result));
}

export function registerImport(program: Command): void {
  const command = program
    .command('import')
    .description('validate a users CSV and record its users in a campaign (queued, not started)');
  addImportOptions(command)
    .addHelpText(
      'after',
      '\nExit codes: 0 imported · 2 rows rejected (nothing imported without --allow-rejects) · 1 failure.',
    )
    .action(async (csvPath: string, flags: ImportFlags & Record<string, unknown>) => {
      const prepared = await prepareImport(flags);
      await withContext(toConnectionFlags(flags), async (context) => {
        const result = await importFromFlags(context, csvPath, flags, prepared);
        await printImport(prepared.campaign, result, flags.json === true);
      });
    });
}
