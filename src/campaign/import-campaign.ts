import { createHash, randomUUID } from 'node:crypto';
import { basename, join } from 'node:path';
import { applyDeployOverrides, type DeployOverrideFlags } from '../config/apply-deploy-overrides.js';
import { applyScheduleOverrides, type ScheduleOverrideFlags } from '../config/apply-schedule-overrides.js';
import type { CampaignFile } from '../config/campaign-schema.js';
import { toProfileOptions } from '../config/campaign-settings.js';
import { defaultCampaignFile } from '../config/load-campaign-file.js';
import type { Rejection } from '../csv/user-spec.js';
import { coerceError, ERROR_CODES, FleetError } from '../errors/index.js';
import type { PipelineQueues } from '../queue/types.js';
import { computeSpecHash } from '../rollout/spec-hash.js';
import { assertCampaignName } from '../store/keys.js';
import type { CampaignRecord, RecordStore, StoredError, UpsertRow } from '../store/types.js';
import { assertNoCaseClash } from './campaign-name-clash.js';
import { type ImportWaves, planImportWaves } from './plan-import-waves.js';
import { reconcileCampaign } from './reconcile-campaign.js';
import { enqueueMatching, requireCampaign, type StartResult } from './start-campaign.js';
import { checkRosterRows, type RosterCheck, type RosterReadOptions, validateRoster } from './validate-roster.js';

export interface ImportCampaignInput extends RosterReadOptions {
  readonly campaign: string;
  readonly csvPath: string;
  /** The name shown in records and messages (the path by default; the upload's name for a stream). */
  readonly csvName?: string;
  /**
   * The validated campaign file. Absent: a campaign that exists keeps its stored settings (re-importing without
   * a file must not reset transport, target and profile options: that would re-deploy every user elsewhere), a new
   * one gets the defaults. The deploy overrides (flags) apply on top either way.
   */
  readonly settings?: CampaignFile;
  readonly deployOverrides?: DeployOverrideFlags;
  /** --start-at, --window, --tz, --canary, --wave-size, --max-fail-percent, --soak… over `schedule:`/`waves:`. */
  readonly scheduleOverrides?: ScheduleOverrideFlags;
  /** Overrides `deploy.transport`. */
  readonly transport?: 'local' | 'ssh';
  /** Queue the valid rows even if some were rejected (the report is still written). */
  readonly allowRejects: boolean;
  /** Remove the users whose rows are no longer in the CSV (a user whose step is on a host is kept and counted). */
  readonly prune?: boolean;
  /** Directory of the rejection report; `./reports` by default. */
  readonly reportDir?: string;
  /**
   * `run`: start the campaign as soon as every row is validated and hand each batch's queued users to the
   * agents as soon as it is written (they work while the import writes the rest). Same end state as
   * import then start.
   */
  readonly start?: boolean;
  readonly now: number;
  /** Users written (and enqueued) per batch; 1,000 by default. */
  readonly batchSize?: number;
  /** The clock, for the times written at the end of a long import. */
  readonly clock?: () => number;
}

export interface ImportResult {
  readonly valid: number;
  readonly rejected: number;
  readonly added: number;
  readonly changed: number;
  readonly unchanged: number;
  /** Users (re)queued by this import: added + changed. */
  readonly queued: number;
  /** Users of the campaign whose rows are not in this CSV (still deployed unless pruned). */
  readonly missing: number;
  /** Of those, removed by --prune. */
  readonly pruned: number;
  /** false when rejected rows stopped the import (nothing written to Redis). */
  readonly imported: boolean;
  readonly reportPath?: string;
  /** SHA-256 of exactly the bytes imported. */
  readonly csvSha256?: string;
  /** With `start`: what startCampaign would have answered (absent when nothing was imported). */
  readonly started?: StartResult;
}

const BATCH = 1_000;
const batchOf = (input: ImportCampaignInput): number => input.batchSize ?? BATCH;
/** Lease of the importer, renewed at every batch: `status` tells a running import from a dead one by it. */
const LEASE_MS = 60_000;

/**
 * Two passes over the CSV, each reading it once: validate everything first (nothing is written when a row is
 * rejected, unless allowed), then upsert users in batches comparing spec hashes, so re-importing the same CSV
 * queues nobody and an edited one queues only the users whose deployment changes. The campaign records the import
 * as `writing` (rows to write, rows written) before the first user and `complete` after the last: an import that
 * dies half-way (Redis out of memory, restarted, the process killed) leaves a campaign that says so and never turns
 * `done`; running the same import again finishes it (unchanged rows are no-ops). With `start` (the `run` command)
 * the campaign starts once pass 1 found every row valid (or rejects allowed), so agents work while pass 2 writes.
 */
export async function importCampaign(
  store: RecordStore,
  queues: PipelineQueues,
  input: ImportCampaignInput,
): Promise<ImportResult> {
  assertCampaignName(input.campaign);
  await assertNoCaseClash(store, input.campaign); // one staging folder per name on Windows
  const clock = input.clock ?? (() => Math.max(input.now, Date.now()));
  const existing = await store.getCampaign(input.campaign);
  const settings = resolveSettings(input, existing);
  const profile = toProfileOptions(settings);
  const reportPath = join(input.reportDir ?? 'reports', `${input.campaign}-rejected.csv`);
  const check = await validateRoster(input.csvPath, settings, profile, reportPath, input, settings.waves !== undefined);
  const summary = { valid: check.valid, rejected: check.rejected, ...(check.reportPath && { reportPath }) };
  const nothing = { added: 0, changed: 0, unchanged: 0, queued: 0, missing: 0, pruned: 0, imported: false };
  if ((check.rejected > 0 && !input.allowRejects) || check.valid === 0) return { ...summary, ...nothing };

  const importNo = (existing?.imports ?? 0) + 1;
  const waves = planImportWaves(settings, input.campaign, check.members);
  const record = {
    ...toCampaignRecord(input, settings, check.sha256, existing, check.rejected, importNo),
    ...(waves && { waves: { count: waves.count, sizes: waves.sizes, open: existing?.waves?.open ?? 1 } }),
  };
  // The record exists before users do, so agents and status always find the campaign of a user.
  await store.saveCampaign(record);
  const lease = randomUUID();
  await store.beginImport(input.campaign, lease, LEASE_MS, check.rowsToWrite, input.now);
  let written: Written;
  let enqueued = 0;
  try {
    if (input.start === true) {
      // What startCampaign does, before the users are written rather than after: running, queues resumed, and
      // the users some earlier import left queued are enqueued (those of this CSV follow batch by batch).
      const move = await store.applyCampaignIntent(input.campaign, 'start', 'started', input.now);
      await reconcileCampaign(store, queues, move.campaign);
      enqueued += await enqueueMatching(store, queues, input.campaign, { state: 'queued' });
    }
    const live = input.start === true || existing?.state === 'running' || existing?.state === 'paused';
    written = await writeUsers(store, queues, input, settings, check, importNo, lease, live, waves);
    enqueued += written.enqueued;
  } catch (error) {
    // The import stays `writing` (incomplete) whatever happens; say why, if Redis still answers.
    const reason = coerceError(error).message;
    await store.failImport(input.campaign, reason, clock()).catch(() => undefined);
    throw error;
  }
  const counts = await store.countByState(input.campaign);
  const totalUsers = Object.values(counts).reduce((sum, count) => sum + count, 0);
  await store.saveCampaign({ ...record, totalUsers, updatedAt: clock() });
  await store.endImport(input.campaign, lease, clock());
  const missing = await store.countMissing(input.campaign, importNo);
  const pruned =
    input.prune === true && missing > 0
      ? await pruneMissing(store, input.campaign, importNo, clock(), batchOf(input))
      : 0;
  const result: ImportResult = {
    ...summary,
    ...written.totals,
    queued: written.totals.added + written.totals.changed,
    missing: missing - pruned,
    pruned,
    imported: true,
    csvSha256: written.sha256,
  };
  if (input.start !== true) return result;
  // A campaign with nothing in flight was set `done` by endImport; read the final word.
  return { ...result, started: { campaign: await requireCampaign(store, input.campaign), enqueued } };
}

interface Written {
  readonly totals: { added: number; changed: number; unchanged: number };
  readonly enqueued: number;
  readonly sha256: string;
}

/** Pass 2: upsert users in batches (reading the file once more), enqueueing new work when the campaign is live. */
async function writeUsers(
  store: RecordStore,
  queues: PipelineQueues,
  input: ImportCampaignInput,
  settings: CampaignFile,
  check: RosterCheck,
  importNo: number,
  lease: string,
  live: boolean,
  waves: ImportWaves | undefined,
): Promise<Written> {
  const profile = toProfileOptions(settings);
  const totals = { added: 0, changed: 0, unchanged: 0 };
  const hash = createHash('sha256');
  let enqueued = 0;
  let writtenRows = 0;
  let rows: UpsertRow[] = [];
  let skipped: Array<{ username: string; line: number; error: StoredError }> = [];
  const flush = async (): Promise<void> => {
    const result = await store.upsertUsers(input.campaign, rows, importNo, input.now);
    totals.added += result.added;
    totals.changed += result.changed;
    totals.unchanged += result.unchanged;
    await store.markSkipped(input.campaign, skipped, importNo, input.now);
    writtenRows += rows.length + skipped.length;
    await store.progressImport(input.campaign, lease, LEASE_MS, writtenRows);
    // Users written but not yet enqueued (a crash here) are `queued`: the next start or run enqueues them.
    if (live && result.queued.length > 0) enqueued += await queues.enqueueGenerate(input.campaign, result.queued);
    rows = [];
    skipped = [];
  };
  const read = { ...input, encoding: check.encoding, onChunk: (bytes: Uint8Array) => hash.update(bytes) };
  for await (const item of checkRosterRows(input.csvPath, settings, profile, read)) {
    if (item.kind === 'accepted') {
      const { line, spec } = item.row;
      const wave = waves?.waveOf(spec.username);
      rows.push({
        line,
        spec,
        specHash: computeSpecHash(spec, profile, settings.deploy),
        ...(wave !== undefined && { wave }),
      });
    } else if (item.rejection.username !== undefined) {
      skipped.push({
        username: item.rejection.username,
        line: item.rejection.line,
        error: toStoredError(item.rejection),
      });
    }
    if (rows.length + skipped.length >= batchOf(input)) await flush();
  }
  await flush();
  const sha256 = hash.digest('hex');
  if (sha256 !== check.sha256) {
    throw new FleetError(
      'FR_ERR_FILE_UNREADABLE',
      'the CSV file changed while it was being imported: import it again',
      {
        file: input.csvName ?? input.csvPath,
      },
    );
  }
  return { totals, enqueued, sha256 };
}

/** --prune: removes the users no earlier-than-this import saw (their rows left the CSV), a batch at a time. */
async function pruneMissing(
  store: RecordStore,
  campaign: string,
  importNo: number,
  now: number,
  batch: number,
): Promise<number> {
  let removed = 0;
  for await (const userKeys of store.scanMissing(campaign, importNo, batch)) {
    const results = await store.removeUsers(campaign, userKeys, now);
    const done = results.filter((r) => r.result === 'moved').length;
    removed += done;
    if (done === 0) break; // only users with a step on a host are left: they stay, counted as missing
  }
  return removed;
}

function resolveSettings(input: ImportCampaignInput, existing: CampaignRecord | undefined): CampaignFile {
  const base = input.settings ?? existing?.settings ?? defaultCampaignFile();
  const withDeploy = input.deployOverrides ? applyDeployOverrides(base, input.deployOverrides) : base;
  const withFlags = input.scheduleOverrides ? applyScheduleOverrides(withDeploy, input.scheduleOverrides) : withDeploy;
  return input.transport ? { ...withFlags, deploy: { ...withFlags.deploy, transport: input.transport } } : withFlags;
}

function toCampaignRecord(
  input: ImportCampaignInput,
  settings: CampaignFile,
  csvSha256: string,
  existing: CampaignRecord | undefined,
  rejectedRows: number,
  importNo: number,
): CampaignRecord {
  return {
    name: input.campaign,
    state: existing?.state ?? 'draft',
    stateReason: existing?.stateReason ?? 'imported',
    csvFile: basename(input.csvName ?? input.csvPath),
    csvSha256,
    settings,
    imports: importNo,
    totalUsers: existing?.totalUsers ?? 0,
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
