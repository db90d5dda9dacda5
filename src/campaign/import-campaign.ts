import { createHash, randomUUID } from 'node:crypto';
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
import { assertNoCaseClash } from './campaign-name-clash.js';
import { enqueueMatching, requireCampaign, type StartResult } from './start-campaign.js';
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
  /**
   * `run`: start the campaign as soon as every row is validated and hand each batch's queued users to the
   * agents as soon as it is written (they work while the import writes the rest). Same end state as
   * import then start.
   */
  readonly start?: boolean;
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
  /** With `start`: what startCampaign would have answered (absent when nothing was imported). */
  readonly started?: StartResult;
}

const BATCH = 1_000;
/** Lease of the import guard, renewed at every batch: a dead importer holds `done` back for at most this long. */
const GUARD_LEASE_MS = 60_000;

/**
 * Two passes over the CSV, both streamed: validate everything first (nothing is written when a row is rejected,
 * unless allowed), then upsert users in batches comparing spec hashes, so re-importing the same CSV queues nobody
 * and an edited one queues only the users whose deployment changes. A running campaign gets the new work at once.
 * With `start` (the `run` command) the campaign starts once pass 1 found every row valid (or rejects allowed), so
 * agents work while pass 2 writes; an import guard keeps the campaign from turning `done` before the last batch.
 */
export async function importCampaign(
  store: RecordStore,
  queues: PipelineQueues,
  input: ImportCampaignInput,
): Promise<ImportResult> {
  assertCampaignName(input.campaign);
  await assertNoCaseClash(store, input.campaign); // trust boundaries (issue 9): one staging folder per name on Windows
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
  // Agents may finish the users written so far before the rest is written: the guard keeps the campaign from
  // turning `done` until the last batch is in (endImport then settles it).
  const guard = randomUUID();
  await store.beginImport(input.campaign, guard, GUARD_LEASE_MS);
  const totals = { added: 0, changed: 0, unchanged: 0 };
  let enqueued = 0;
  try {
    if (input.start === true) {
      // What startCampaign does, before the users are written rather than after: running, queues resumed, and
      // the users some earlier import left queued are enqueued (those of this CSV follow batch by batch).
      await store.setCampaignState(input.campaign, 'running', 'started', input.now);
      await queues.resume(input.campaign);
      enqueued += await enqueueMatching(store, queues, input.campaign, { state: 'queued' });
    }
    const live = input.start === true || existing?.state === 'running' || existing?.state === 'paused';
    let rows: UpsertRow[] = [];
    let skipped: Array<{ username: string; line: number; error: StoredError }> = [];
    const flush = async (): Promise<void> => {
      const result = await store.upsertUsers(input.campaign, rows, input.now);
      totals.added += result.added;
      totals.changed += result.changed;
      totals.unchanged += result.unchanged;
      if (live && result.queued.length > 0) enqueued += await queues.enqueueGenerate(input.campaign, result.queued);
      await store.markSkipped(input.campaign, skipped, input.now);
      await store.beginImport(input.campaign, guard, GUARD_LEASE_MS);
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
  } catch (error) {
    // Release the guard if Redis still answers (else its lease runs out); the first error is the one to report.
    await store.endImport(input.campaign, guard, Math.max(input.now, Date.now())).catch(() => {});
    throw error;
  }
  await store.endImport(input.campaign, guard, Math.max(input.now, Date.now()));
  const result = { ...summary, ...totals, queued: totals.added + totals.changed, imported: true };
  if (input.start !== true) return result;
  // A campaign with nothing in flight was set `done` by endImport; read the final word.
  return { ...result, started: { campaign: await requireCampaign(store, input.campaign), enqueued } };
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
