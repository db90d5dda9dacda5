import { writeFile } from 'node:fs/promises';
import { readRosterFile } from '../campaign/read-roster-file.js';
import type { CampaignFile } from '../config/campaign-schema.js';
import { defaultCampaignFile, loadCampaignFile } from '../config/load-campaign-file.js';
import { toCsvLine } from '../csv/csv-cell.js';
import type { UserSpec } from '../csv/user-spec.js';
import type { RecordStore } from '../store/types.js';

/** Where `probe` reads its users: a roster CSV (intake rules apply; rejected rows are named) or a campaign. */
export async function loadSettings(path: string | undefined): Promise<CampaignFile> {
  return path === undefined ? defaultCampaignFile() : loadCampaignFile(path);
}

export async function* csvSpecs(
  csvPath: string,
  file: CampaignFile,
  warn: (line: string) => void,
): AsyncGenerator<UserSpec> {
  for await (const item of readRosterFile(csvPath, { encoding: 'auto', defaults: file.defaults, onWarning: warn })) {
    if (item.kind === 'rejected') {
      const { line, column, reason } = item.rejection;
      warn(`line ${line}: ${column}: ${reason} (not probed)`);
    } else if (item.row.spec.host === undefined) {
      warn(`line ${item.row.line}: no host (not probed)`);
    } else {
      yield item.row.spec;
    }
  }
}

/** The users of an imported campaign that have a workstation (skipped rows included: probe reports their state). */
export async function* campaignSpecs(store: RecordStore, campaign: string): AsyncGenerator<UserSpec> {
  for await (const users of store.scanUsers(campaign, {})) {
    for (const user of users) if (user.spec?.host !== undefined) yield user.spec;
  }
}

export async function writeCsvTable(path: string, header: readonly string[], rows: readonly string[][]): Promise<void> {
  await writeFile(path, [toCsvLine(header), ...rows.map(toCsvLine)].join(''));
}
