import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import type { CampaignFile } from '../../config/campaign-schema.js';
import type { CsvEncoding } from '../../csv/index.js';
import { FleetError } from '../../errors/index.js';
import type { ProfileOptions } from '../../profile/index.js';
import { prepareOutputDir, removeCompletionMarkers } from '../output-dir.js';
import { createProgressBar } from '../progress-bar.js';

interface GenerateFlags {
  readonly out: string;
  readonly campaignFile?: string;
  readonly codepage?: string;
  readonly prfEncoding?: 'ansi' | 'utf16le';
  readonly encoding: CsvEncoding;
  readonly delimiter?: string;
}

async function resolveProfileOptions(campaign: CampaignFile, flags: GenerateFlags): Promise<ProfileOptions> {
  const [{ profileSchema }, { toProfileOptions }] = await Promise.all([
    import('../../config/campaign-schema.js'),
    import('../../config/campaign-settings.js'),
  ]);
  const overrides: Partial<ProfileOptions> = {};
  if (flags.codepage !== undefined) {
    const codepage = Number(flags.codepage);
    const checked = profileSchema.shape.codepage.safeParse(codepage);
    if (!Number.isInteger(codepage) || !checked.success) {
      throw new FleetError(
        'FR_ERR_USAGE',
        `--codepage ${flags.codepage}: must be a single-byte Windows code page (874, 1250 to 1258)`,
      );
    }
    Object.assign(overrides, { codepage });
  }
  if (flags.prfEncoding) Object.assign(overrides, { encoding: flags.prfEncoding });
  return toProfileOptions(campaign, overrides);
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0; // reported properly by the reader
  }
}

async function runGenerate(csvPath: string, flags: GenerateFlags): Promise<void> {
  const startedAt = performance.now();
  const [
    { generateProfiles, MANIFEST_FILE, REJECTED_FILE },
    { defaultCampaignFile, loadCampaignFile },
    { parseDelimiterOption },
  ] = await Promise.all([
    import('../../campaign/generate-profiles.js'),
    import('../../config/load-campaign-file.js'),
    import('../../csv/index.js'),
  ]);
  const delimiter = flags.delimiter === undefined ? undefined : parseDelimiterOption(flags.delimiter);
  if (flags.delimiter !== undefined && !delimiter) {
    throw new FleetError('FR_ERR_USAGE', `--delimiter ${JSON.stringify(flags.delimiter)}: use , ; or tab`);
  }
  const campaign = flags.campaignFile ? await loadCampaignFile(flags.campaignFile) : defaultCampaignFile();
  await prepareOutputDir(flags.out);
  const profileOptions = await resolveProfileOptions(campaign, flags);
  const bar = createProgressBar({ total: await sizeOf(csvPath), label: 'generate' });
  let summary: Awaited<ReturnType<typeof generateProfiles>>;
  try {
    summary = await generateProfiles({
      csvPath,
      outDir: flags.out,
      campaign,
      profileOptions,
      encoding: flags.encoding,
      ...(delimiter ? { delimiter } : {}),
      onWarning: (message) => process.stderr.write(`warning: ${message}\n`),
      onProgress: (bytesRead) => bar.update(bytesRead),
    });
  } catch (error) {
    // PRFs of this run may be half there: an earlier run's manifest next to them would look like a complete output.
    await removeCompletionMarkers(flags.out, [MANIFEST_FILE, REJECTED_FILE]);
    throw error;
  } finally {
    bar.finish();
  }
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(2);
  const report = summary.rejectedPath ? `; rejected rows listed in ${summary.rejectedPath}` : '';
  process.stdout.write(
    `generate: ${summary.valid} valid, ${summary.rejected} rejected, ${seconds} s → ${flags.out} (manifest ${summary.manifestPath}${report})\n`,
  );
  if (summary.rejected > 0) process.exitCode = 2;
}

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('validate a users CSV and write one PRF per valid row, a manifest and a rejected-rows report')
    .argument('<csv>', 'users CSV (see README "CSV format")')
    .requiredOption('--out <dir>', 'output directory (created if needed)')
    .option('--campaign-file <file>', 'campaign file (YAML or JSON) with column defaults and profile settings')
    .option('--codepage <n>', 'ANSI code page of the PRF (default 1252; 874, 1250 to 1258)')
    .option('--prf-encoding <encoding>', 'ansi (code page bytes, no BOM) or utf16le (BOM, as the OCT writes)')
    .option('--encoding <encoding>', 'CSV encoding: auto, utf-8 or windows-1252', 'auto')
    .option('--delimiter <d>', 'CSV delimiter: , ; or tab (default: detected from the header)')
    .addHelpText(
      'after',
      '\nExit codes: 0 every row valid · 2 some rows rejected (see rejected.csv) · 1 nothing could be done.',
    )
    .action(async (csvPath: string, flags: GenerateFlags) => {
      if (!['auto', 'utf-8', 'windows-1252'].includes(flags.encoding)) {
        throw new FleetError('FR_ERR_USAGE', `--encoding ${flags.encoding}: use auto, utf-8 or windows-1252`);
      }
      if (flags.prfEncoding !== undefined && !['ansi', 'utf16le'].includes(flags.prfEncoding)) {
        throw new FleetError('FR_ERR_USAGE', `--prf-encoding ${flags.prfEncoding}: use ansi or utf16le`);
      }
      await runGenerate(csvPath, flags);
    });
}
