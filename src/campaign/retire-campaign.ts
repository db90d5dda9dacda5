import { join } from 'node:path';
import { FleetError } from '../errors/index.js';
import { ON_HOST_USER_STATES } from '../rollout/states.js';
import type { ArchivedCampaign, CampaignPurge } from '../store/campaign-purge.js';
import type { CampaignRecord, RecordStore } from '../store/types.js';
import { requireCampaign } from './start-campaign.js';
import { streamReport } from './stream-report.js';
import { writeReportFile } from './write-report-file.js';

/**
 * Deleting and archiving whole campaigns: records, both BullMQ queues, everything under the campaign's keys.
 * Refused while the campaign may still be working (below) unless forced: cancel it first.
 */
export interface RetireDeps {
  readonly store: RecordStore;
  readonly purge: CampaignPurge;
  /** Active jobs of both queues (a step an agent is running right now). */
  readonly activeJobs: (campaign: string) => Promise<number>;
  /** Destroys both queues of the campaign; returns the keys swept after BullMQ's own obliterate. */
  readonly obliterateQueues: (campaign: string) => Promise<number>;
  readonly now: () => number;
}

export interface RetireOptions {
  /** Delete even a campaign that is running, has users on workstations or active jobs (their outcome is lost). */
  readonly force?: boolean;
}

export interface DeleteResult {
  readonly campaign: string;
  readonly state: string;
  readonly users: number;
  /** Redis keys deleted (records and queues). */
  readonly keys: number;
}

export interface ArchiveResult extends DeleteResult {
  readonly reportPath: string;
}

/** States in which agents serve a campaign: it can start new steps at any moment. */
const WORKING_STATES: readonly string[] = ['running', 'paused', 'halted'];
const FINISHED_STATES: readonly string[] = ['done', 'cancelled'];
const DAY_MS = 86_400_000;

/** Why the campaign may still be working (running/paused/halted, users on workstations, active jobs), or none. */
async function stillWorking(deps: RetireDeps, campaign: CampaignRecord): Promise<string | undefined> {
  if (WORKING_STATES.includes(campaign.state)) return `it is ${campaign.state}`;
  const counts = await deps.store.countByState(campaign.name);
  const onHost = ON_HOST_USER_STATES.reduce((sum, state) => sum + (counts[state] ?? 0), 0);
  if (onHost > 0) return `${onHost} user(s) still have a step running on their workstation`;
  const active = await deps.activeJobs(campaign.name);
  if (active > 0) return `${active} job(s) are being run by agents`;
  return undefined;
}

async function requireRetirable(deps: RetireDeps, name: string, options: RetireOptions): Promise<CampaignRecord> {
  const campaign = await requireCampaign(deps.store, name);
  const reason = options.force ? undefined : await stillWorking(deps, campaign);
  if (reason) {
    throw new FleetError(
      'FR_ERR_CAMPAIGN_STATE',
      `campaign ${name} is still working (${reason}): cancel it first and let the steps on workstations finish, or use --force`,
      { campaign: name },
    );
  }
  return campaign;
}

async function purge(deps: RetireDeps, campaign: CampaignRecord): Promise<DeleteResult> {
  const counts = await deps.store.countByState(campaign.name);
  const users = Object.values(counts).reduce((sum, n) => sum + n, 0);
  // Queues first: once they are gone no agent picks up a job of the campaign; the records go last.
  const queueKeys = await deps.obliterateQueues(campaign.name);
  const recordKeys = await deps.purge.deleteRecords(campaign.name);
  return { campaign: campaign.name, state: campaign.state, users, keys: queueKeys + recordKeys };
}

export async function deleteCampaign(
  deps: RetireDeps,
  name: string,
  options: RetireOptions = {},
): Promise<DeleteResult> {
  return purge(deps, await requireRetirable(deps, name, options));
}

/** `20261130T061500Z`: sorts, and is a valid file name on every system. */
const stamp = (ms: number): string => new Date(ms).toISOString().replace(/[-:]|\.\d{3}/g, '');

/**
 * Writes the final report (CSV, one row per user) to `reportDir/<campaign>-archive-<stamp>.csv`, keeps a summary
 * (`campaigns --archived`), then deletes the campaign as `deleteCampaign` does.
 */
export async function archiveCampaign(
  deps: RetireDeps,
  name: string,
  options: RetireOptions & { readonly reportDir: string },
): Promise<ArchiveResult> {
  const campaign = await requireRetirable(deps, name, options);
  const archivedAt = deps.now();
  const reportPath = join(options.reportDir, `${name}-archive-${stamp(archivedAt)}.csv`);
  await writeReportFile(streamReport(deps.store, name), 'csv', reportPath);
  const counts = await deps.store.countByState(name);
  const summary: ArchivedCampaign = {
    name,
    state: campaign.state,
    totalUsers: Object.values(counts).reduce((sum, n) => sum + n, 0),
    counts: Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0)),
    createdAt: campaign.createdAt,
    ...(campaign.finishedAt !== undefined && { finishedAt: campaign.finishedAt }),
    archivedAt,
    reportPath,
  };
  // The summary first: a purge cut short still left its report findable.
  await deps.purge.saveArchive(summary);
  return { ...(await purge(deps, campaign)), reportPath };
}

export interface PruneResult {
  readonly archived: readonly ArchiveResult[];
  /** Finished campaigns old enough but not archived, and why (a step still on a workstation…). */
  readonly skipped: readonly { readonly campaign: string; readonly reason: string }[];
  /** With dryRun: the campaigns that would be archived. */
  readonly wouldArchive: readonly string[];
}

/**
 * Retention: archives every finished campaign (done or cancelled) whose last change is older than `olderThanDays`
 * (finishedAt, else updatedAt). Never forced: a campaign with a step still on a workstation waits for the next prune.
 */
export async function pruneCampaigns(
  deps: RetireDeps,
  options: { readonly olderThanDays: number; readonly reportDir: string; readonly dryRun?: boolean },
): Promise<PruneResult> {
  const cutoff = deps.now() - options.olderThanDays * DAY_MS;
  const due = (await deps.store.listCampaigns()).filter(
    (c) => FINISHED_STATES.includes(c.state) && (c.finishedAt ?? c.updatedAt) < cutoff,
  );
  const archived: ArchiveResult[] = [];
  const skipped: { campaign: string; reason: string }[] = [];
  const wouldArchive: string[] = [];
  for (const campaign of due) {
    const reason = await stillWorking(deps, campaign);
    if (reason) skipped.push({ campaign: campaign.name, reason });
    else if (options.dryRun) wouldArchive.push(campaign.name);
    else archived.push(await archiveCampaign(deps, campaign.name, { reportDir: options.reportDir }));
  }
  return { archived, skipped, wouldArchive };
}
