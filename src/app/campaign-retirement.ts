import type { Redis } from 'ioredis';
import {
  type ArchiveResult,
  archiveCampaign,
  type DeleteResult,
  deleteCampaign,
  type PruneResult,
  pruneCampaigns,
  type RetireDeps,
  type RetireOptions,
} from '../campaign/retire-campaign.js';
import { FleetError } from '../errors/index.js';
import type { PipelineQueues } from '../queue/types.js';
import { type ArchivedCampaign, createCampaignPurge } from '../store/campaign-purge.js';
import type { RecordStore } from '../store/types.js';

export type { ArchivedCampaign, ArchiveResult, DeleteResult, PruneResult };

/** Deleting, archiving and the retention of finished campaigns (`campaign delete|archive|prune`). */
export interface RetirementFacade {
  /** Deletes the campaign: its records, both queues, every key of it. Refused while it may still work unless forced. */
  deleteCampaign(name: string, options?: RetireOptions): Promise<DeleteResult>;
  /** Writes the final report to the report folder, keeps a summary, then deletes the rest. */
  archiveCampaign(name: string, options?: RetireOptions & { readonly reportDir?: string }): Promise<ArchiveResult>;
  /** Archives the finished campaigns older than `olderThanDays` (default: config retentionDays). */
  pruneCampaigns(options: {
    readonly olderThanDays?: number;
    readonly dryRun?: boolean;
    readonly reportDir?: string;
  }): Promise<PruneResult>;
  /** Summaries of archived campaigns, oldest first. */
  archivedCampaigns(): Promise<ArchivedCampaign[]>;
}

export interface RetirementContext {
  readonly redis: Redis;
  readonly prefix: string;
  readonly store: RecordStore;
  readonly queues: PipelineQueues;
  readonly reportDir: string;
  readonly retentionDays?: number;
  readonly now: () => number;
}

export function createRetirementFacade(context: RetirementContext): RetirementFacade {
  const purge = createCampaignPurge(context.redis, context.prefix);
  const deps: RetireDeps = {
    store: context.store,
    purge,
    now: context.now,
    activeJobs: async (campaign) => {
      const counts = await context.queues.jobCounts(campaign);
      return (counts['generate.active'] ?? 0) + (counts['deploy.active'] ?? 0);
    },
    obliterateQueues: async (campaign) => {
      // BullMQ loads only when a campaign is really deleted.
      const { obliterateCampaignQueues } = await import('../queue/obliterate-queues.js');
      return obliterateCampaignQueues(context.redis, context.prefix, campaign);
    },
  };
  return {
    deleteCampaign: (name, options) => deleteCampaign(deps, name, options),
    archiveCampaign: (name, options = {}) =>
      archiveCampaign(deps, name, { ...options, reportDir: options.reportDir ?? context.reportDir }),
    async pruneCampaigns(options) {
      const olderThanDays = options.olderThanDays ?? context.retentionDays;
      if (olderThanDays === undefined) {
        throw new FleetError('FR_ERR_USAGE', 'no retention: give --older-than-days N or set FLEET_RETENTION_DAYS');
      }
      return pruneCampaigns(deps, {
        olderThanDays,
        reportDir: options.reportDir ?? context.reportDir,
        ...(options.dryRun !== undefined && { dryRun: options.dryRun }),
      });
    },
    archivedCampaigns: () => purge.listArchives(),
  };
}
