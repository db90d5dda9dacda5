import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename, join } from 'node:path';
import type { CampaignFile } from '../config/campaign-schema.js';
import { toProfileOptions } from '../config/campaign-settings.js';
import type { Rejection } from '../csv/user-spec.js';
import { ERROR_CODES, FleetError } from '../errors/index.js';
import type { PipelineQueues } from '../queue/types.js';
import { computeSpecHash } from '../rollout/spec-hash.js';
import { assertCampaignName } from '../store/keys.js';
import type { CampaignRecord, RecordStore, StoredError, UpsertRow } from '../store/types.js';
import { checkRosterRows, type RosterReadOptions, validateRoster } from './validate-roster.js';

export interface ImportCampaignInput extends RosterReadOptions {
  readonly campaign: string;
  readonly csvPath: string;
  /** The validated campaign file (defaults when none was given). */
  readonly settings: CampaignFile;
  /** Overrides `deploy.transport` of the campaign file. */
  readonly transport?: 'local' | 'ssh';
  /** Queue the valid rows even if some were rejected (the report is still written). */
  readonly allowRejects: boolean;
  /** Directory of the rejection report; `./reports` by default. */
  readonly reportDir?: string;
  readonly now: number;
}

export interface ImportResult {
  readonly valid: number;
  readonly rejected: number;
  readonly added: number;
  readonly changed: number;
  readonly unchanged: number;
  /** Users (re)queued by this import: added + changed. */
  readonly queued: number;
  /** false when rejected rows stopped the import (nothing written to Redis). */
  readonly imported: boolean;
  readonly reportPath?: string;
}

const BATCH = 1_000;

/**
 * Two passes over the CSV, both streamed: validate everything first (nothing is written when a row is rejected,
 * unless allowed), then upsert users in batches comparing spec hashes, so re-importing the same CSV queues nobody
 * and an edited one queues only the users whose deployment changes. A running campaign gets the new work at once.
 */
export async function importCampaign(
  store: RecordStore,
  queues: PipelineQueues,
  input: ImportCampaignInput,
): Promise<ImportResult> {
  assertCampaignName(input.campaign);
  const settings = withTransport(input.settings, input.transport);
  const profile = toProfileOptions(settings);
  const reportPath = join(input.reportDir ?? 'reports', `${input.campaign}-rejected.csv`);
  const summary = await validateRoster(input.csvPath, settings, profile, reportPath, input);
  const stopped = summary.rejected > 0 && !input.allowRejects;
  if (stopped || summary.valid === 0) {
    return { ...summary, added: 0, changed: 0, unchanged: 0, queued: 0, imported: false };
  }
  const csvSha256 = await hashFile(input.csvPath);
  const existing = await store.getCampaign(input.campaign);
  // The record exists before users do, so agents and status always find the campaign of a user.
  await store.saveCampaign(toCampaignRecord(input, settings, csvSha256, existing, summary.rejected, 0));
  const live = existing?.state === 'running' || existing?.state === 'paused';
  const totals = { added: 0, changed: 0, unchanged: 0 };
  let rows: UpsertRow[] = [];
  let skipped: Array<{ username: string; line: number; error: StoredError }> = [];
  const flush = async (): Promise<void> => {
    const result = await store.upsertUsers(input.campaign, rows, input.now);
    totals.added += result.added;
    totals.changed += result.changed;
    totals.unchanged += result.unchanged;
    if (live && result.queued.length > 0) await queues.enqueueGenerate(input.campaign, result.queued);
    await store.markSkipped(input.campaign, skipped, input.now);
    rows = [];
    skipped = [];
  };
  for await (const item of checkRosterRows(input.csvPath, settings, profile, input)) {
    if (item.kind === 'accepted') {
      const { line, spec } = item.row;
      rows.push({ line, spec, specHash: computeSpecHash(spec, profile, settings.deploy) });
    } else if (item.rejection.username !== undefined) {
      skipped.push({
        username: item.rejection.username,
        line: item.rejection.line,
        error: toStoredError(item.rejection),
      });
    }
    if (rows.length + skipped.length >= BATCH) await flush();
  }
  await flush();
  const counts = await store.countByState(input.campaign);
  const totalUsers = Object.values(counts).reduce((sum, count) => sum + count, 0);
  await store.saveCampaign(toCampaignRecord(input, settings, csvSha256, existing, summary.rejected, totalUsers));
  return { ...summary, ...totals, queued: totals.added + totals.changed, imported: true };
}

function withTransport(settings: CampaignFile, transport: 'local' | 'ssh' | undefined): CampaignFile {
  return transport ? { ...settings, deploy: { ...settings.deploy, transport } } : settings;
}

function toCampaignRecord(
  input: ImportCampaignInput,
  settings: CampaignFile,
  csvSha256: string,
  existing: CampaignRecord | undefined,
  rejectedRows: number,
  totalUsers: number,
): CampaignRecord {
  return {
    name: input.campaign,
    state: existing?.state ?? 'draft',
    stateReason: existing?.stateReason ?? 'imported',
    csvFile: basename(input.csvPath),
    csvSha256,
    settings,
    imports: (existing?.imports ?? 0) + 1,
    totalUsers,
    rejectedRows,
    createdAt: existing?.createdAt ?? input.now,
    updatedAt: input.now,
  };
}

function toStoredError(rejection: Rejection): StoredError {
  return {
    failureClass: ERROR_CODES[rejection.code].failureClass,
    code: rejection.code,
    message: `line ${rejection.line}, ${rejection.column}: ${rejection.reason}`,
  };
}

async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  } catch (error) {
    throw new FleetError(
      'FR_ERR_FILE_UNREADABLE',
      `cannot read the CSV file (${(error as NodeJS.ErrnoException).code})`,
      {
        file: path,
      },
    );
  }
  return hash.digest('hex');
}
