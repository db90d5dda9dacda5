import {
  GENERATE_JOB_NAME,
  type GeneratePayload,
  generatePayloadSchema,
  PIPELINE_JOB_OPTIONS,
} from '../queue/job-specs.js';
import type { QueuedUser } from '../queue/types.js';
import { DEFAULT_GATE_POLICY } from '../rollout/deploy-gate.js';
import type { UserRecord } from '../store/types.js';
import type { JobDeps, JobDisposition } from './types.js';

/** How long a job of a paused/halted campaign that slipped through waits before it looks again. */
export const PAUSED_RECHECK_MS = DEFAULT_GATE_POLICY.pausedRecheckMs;
/** Users rendered between two turns of the event loop (see processGenerate). */
const RENDER_SLICE = 50;

/**
 * Generate stage, one job per chunk of users: render each user's PRF (pure, deterministic), record its checksum
 * (`queued` → `generated`), then enqueue the deploy jobs. No PRF bytes are stored: deploy renders again and
 * checks the checksum. A render rejection fails the user for good. Re-running a chunk (stalled job) is safe:
 * users already `generated` in this run are only re-enqueued (deterministic job ids make that a no-op).
 */
export async function processGenerate(payload: GeneratePayload, deps: JobDeps): Promise<JobDisposition> {
  const campaign = await deps.getCampaign(payload.campaign);
  if (!campaign) return { kind: 'done' };
  if (campaign.state === 'paused' || campaign.state === 'halted') {
    return { kind: 'delay', until: deps.now() + PAUSED_RECHECK_MS };
  }
  const users = await deps.store.getUsers(
    payload.campaign,
    payload.users.map((u) => u.userKey),
  );
  const started = deps.now();
  // Rendering is synchronous: a whole chunk at once would hold the event loop for tens of ms and starve the
  // deploy jobs' I/O in the same process, so render in slices and let pending I/O run between them.
  const results: Array<QueuedUser | Rendered | undefined> = [];
  for (let i = 0; i < payload.users.length; i += RENDER_SLICE) {
    if (i > 0) await new Promise<void>((resume) => setImmediate(resume));
    const slice = payload.users.slice(i, i + RENDER_SLICE);
    results.push(
      ...(await Promise.all(
        slice.map((job, j) => generateOne(payload.campaign, job, users[i + j], campaign.state === 'cancelled', deps)),
      )),
    );
  }
  // Rendered users are recorded `generated` in one atomic call per chunk (each move still checked on its own).
  const toRecord = results.filter((r): r is Rendered => r !== undefined && 'checksum' in r);
  const recorded = await deps.store.transitionMany(
    payload.campaign,
    toRecord.map(({ job, checksum }) => ({
      userKey: job.userKey,
      transition: { intent: 'generate-done' as const, run: job.run, patch: { checksum } },
    })),
    deps.now(),
  );
  const moved = new Set(toRecord.filter((_, i) => recorded[i]?.result === 'moved').map((r) => r.job));
  const toDeploy = results
    .map((r) => (r === undefined ? undefined : 'checksum' in r ? (moved.has(r.job) ? r.job : undefined) : r))
    .filter((r): r is QueuedUser => r !== undefined);
  if (toDeploy.length > 0) await deps.queues.enqueueDeploy(payload.campaign, toDeploy, 'apply');
  deps.logger.debug(
    {
      campaign: payload.campaign,
      stage: 'generate',
      users: payload.users.length,
      deploy: toDeploy.length,
      ms: deps.now() - started,
    },
    'chunk generated',
  );
  return { kind: 'done' };
}

/** A user rendered in this run, to record as `generated` with its checksum. */
interface Rendered {
  readonly job: QueuedUser;
  readonly checksum: string;
}

/** A user to deploy as is (already `generated` in this run), one to record, or nothing to do. */
async function generateOne(
  campaignName: string,
  job: QueuedUser,
  user: UserRecord | undefined,
  cancelled: boolean,
  deps: JobDeps,
): Promise<QueuedUser | Rendered | undefined> {
  if (!user || user.run !== job.run) return undefined; // stale: a newer run owns this user
  if (user.state === 'generated') return job; // crashed after recording, before enqueueing
  if (user.state !== 'queued') return undefined;
  const now = deps.now();
  if (cancelled) {
    await deps.store.transition(campaignName, user.userKey, { intent: 'cancel', run: job.run }, now);
    return undefined;
  }
  const campaign = await deps.getCampaign(campaignName);
  if (!campaign) return undefined;
  const rendered = deps.render(user.spec, campaign.profileOptions);
  if (!rendered.ok) {
    const lastError = {
      failureClass: 'permanent' as const,
      code: rendered.rejection.code,
      message: rendered.rejection.reason,
      stage: 'generate' as const,
    };
    const attempt = {
      at: now,
      stage: 'generate' as const,
      run: job.run,
      attempt: 0,
      durationMs: 0,
      outcome: 'failed' as const,
      code: lastError.code,
      message: lastError.message,
      agent: deps.agentId,
    };
    // The attempt is recorded by the transition itself, only if the user moves.
    await deps.store.transition(
      campaignName,
      user.userKey,
      { intent: 'generate-failed', run: job.run, patch: { lastError, stage: 'generate' }, attempt },
      now,
    );
    return undefined;
  }
  return { job, checksum: rendered.artifact.sha256 };
}

/** The generate stage as the runner sees it. */
export const generateJob = Object.freeze({
  name: GENERATE_JOB_NAME,
  payload: generatePayloadSchema,
  options: PIPELINE_JOB_OPTIONS,
  process: processGenerate,
});
