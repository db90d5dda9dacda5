import { coerceError, FleetError } from '../errors/index.js';
import { type DeployPayload, deployPayloadSchema, PIPELINE_JOB_OPTIONS } from '../queue/job-specs.js';
import type { DeployMode } from '../queue/types.js';
import { DEFAULT_GATE_POLICY, decideDeploy } from '../rollout/deploy-gate.js';
import { resolveDeployTarget } from '../rollout/resolve-target.js';
import type { UserRecord } from '../store/types.js';
import type { Transport, TransportOutcome } from '../transport/transport.js';
import { type AttemptContext, recordFailure, recordSuccess, STEP_INTENTS } from './deploy-outcome.js';
import { policyFor, recordParked, toGateCampaign } from './deploy-schedule.js';
import { type HeldSlot, takeDeploySlot } from './deploy-slot.js';
import type { CampaignSettings, JobContext, JobDeps, JobDisposition } from './types.js';

/** How long a job waits when this agent cannot build the campaign's transport. */
const TRANSPORT_UNAVAILABLE_RECHECK_MS = 30_000;

/**
 * Deploy stage, one job per user and run (`apply` or `rollback`). The record decides, not the job: the pure deploy
 * gate answers run, park or drop; a step starts with intent `deploy-begin`/`rollback-begin` and ends with the
 * intent of its outcome (deploy-outcome.ts). The PRF is rendered again (deterministic) with the settings the user
 * was queued for. The transport gets the agent's shutdown signal and the step's budget
 * (`deploy.timeout_seconds`, counted once the host's slot is held: BullMQ has no job timeout).
 */
export async function processDeploy(
  payload: DeployPayload,
  mode: DeployMode,
  context: JobContext,
  deps: JobDeps,
): Promise<JobDisposition> {
  const [cached, user] = await Promise.all([
    deps.getCampaign(payload.campaign),
    deps.loadUser
      ? deps.loadUser(payload.campaign, payload.userKey)
      : deps.store.getUser(payload.campaign, payload.userKey),
  ]);
  if (!cached || !user) return { kind: 'done' };
  const now = deps.now();
  // Windows, waves and the deploy estimate are the gate's inputs too (deploy-schedule.ts).
  const policy = await policyFor(cached, deps.gatePolicy ?? DEFAULT_GATE_POLICY, deps);
  const gate = decideDeploy(mode, payload.run, user, toGateCampaign(cached, now), policy, now);
  if (gate.kind === 'drop') {
    if (gate.cancel) await deps.store.transition(cached.name, user.userKey, { intent: 'cancel', run: user.run }, now);
    return { kind: 'done' };
  }
  if (gate.kind === 'park') {
    await recordParked(cached, user, gate, deps, now);
    return { kind: 'delay', until: gate.until };
  }

  const intents = STEP_INTENTS[mode];
  if (context.stalls > context.maxStalls) {
    const error = new FleetError('FR_ERR_JOB_STALLED', `the job stalled ${context.stalls} times`);
    const lastError = { failureClass: 'permanent' as const, code: error.code, message: error.message, stage: mode };
    await deps.store.transition(
      cached.name,
      user.userKey,
      { intent: intents.permanent, run: user.run, patch: { lastError, nextAttemptAt: null, onHost: null } },
      now,
    );
    return { kind: 'fail', error };
  }

  const campaign = await settingsFor(user, cached, deps);
  const slotStep = await takeDeploySlot(campaign, user, deps, context.signal);
  if (slotStep.kind === 'park') return slotStep.disposition;
  try {
    return await deployHoldingSlot(campaign, user, mode, context, deps, slotStep.slot);
  } finally {
    // Not awaited: the job's outcome is recorded already; this agent's next acquire follows it on the same connection.
    slotStep.slot.release();
  }
}

/** The step itself, once the cross-agent slots are held (deploy-slot.ts): its clock starts here. */
async function deployHoldingSlot(
  campaign: CampaignSettings,
  user: UserRecord,
  mode: DeployMode,
  context: JobContext,
  deps: JobDeps,
  slot: HeldSlot,
): Promise<JobDisposition> {
  const now = deps.now();
  const intents = STEP_INTENTS[mode];
  let transport: Transport;
  try {
    transport = await deps.getTransport(campaign.file.deploy);
  } catch (error) {
    // The agent is at fault (unreadable key, wrong passphrase, no ssh credentials), not the user: park the job
    // untouched so a healthy agent (or this one, once fixed) takes it; never count it against the user.
    const failure = coerceError(error);
    deps.logger.error(
      { campaign: campaign.name, code: failure.code, reason: failure.message },
      'transport unavailable',
    );
    return { kind: 'delay', until: now + TRANSPORT_UNAVAILABLE_RECHECK_MS };
  }

  prepareHost(transport, user, campaign, slot.beforeConnect);
  const attempt = user.attempts + 1;
  const firstAttemptAt = user.firstAttemptAt ?? now;
  const started = await deps.store.transition(
    campaign.name,
    user.userKey,
    {
      intent: intents.begin,
      run: user.run,
      patch: {
        attempts: attempt,
        firstAttemptAt,
        stage: mode,
        parkedReason: null,
        onHost: { run: user.run, since: now },
      },
    },
    now,
  );
  if (started.result !== 'moved') return { kind: 'done' };
  const ctx: AttemptContext = { campaign, user, mode, attempt, firstAttemptAt, startedAt: now };
  const logFields = {
    campaign: campaign.name,
    user: user.username,
    stage: mode,
    host: user.spec.host,
    attempt,
  };

  let outcome: TransportOutcome;
  let checksum: string;
  try {
    const target = resolveDeployTarget(user.spec, campaign.file.deploy);
    const rendered = deps.render(user.spec, campaign.profileOptions);
    if (!rendered.ok) throw new FleetError(rendered.rejection.code, rendered.rejection.reason);
    const { artifact } = rendered;
    const base = {
      campaign: campaign.name,
      user: user.spec.username,
      office: user.spec.office,
      target,
      signal: context.signal,
      timeoutMs: campaign.file.deploy.timeout_seconds * 1000,
      ...(slot.beforeConnect && { beforeConnect: slot.beforeConnect }),
    };
    if (mode === 'rollback') {
      checksum = user.checksum ?? artifact.sha256;
      outcome = await transport.rollback({ ...base, fileName: artifact.fileName });
    } else {
      if (user.checksum !== undefined && user.checksum !== artifact.sha256) {
        // The renderer or the settings changed since generate (an upgrade during a 72 h retry horizon): deploy
        // what renders now and record its checksum, rather than fail a user who did nothing wrong.
        deps.logger.info({ ...logFields, recorded: user.checksum, rendered: artifact.sha256 }, 'profile re-rendered');
      }
      checksum = artifact.sha256;
      const stageWhileRunning = campaign.file.deploy.stage_while_outlook_runs;
      outcome = await transport.apply({ ...base, artifact, stageWhileRunning });
    }
  } catch (error) {
    const failure = coerceError(error);
    if (context.signal.aborted) {
      // Shutting down: hand the user back untouched (attempt not counted) for another agent to take now.
      await deps.store.transition(
        campaign.name,
        user.userKey,
        {
          intent: 'release',
          run: user.run,
          patch: { attempts: user.attempts, nextAttemptAt: deps.now(), onHost: null },
        },
        deps.now(),
      );
      return { kind: 'delay', until: deps.now() };
    }
    deps.logger.info({ ...logFields, code: failure.code, class: failure.failureClass }, 'deploy attempt failed');
    return recordFailure(ctx, failure, deps);
  }
  // Outside the transport's try: a bookkeeping error here is Redis trouble, never the user's failure.
  if (deps.logger.isLevelEnabled('debug')) deps.logger.debug({ ...logFields, status: outcome.status }, 'deployed');
  return recordSuccess(ctx, outcome, checksum, deps);
}

/** The host's connection starts while the step's start is recorded (nothing runs on the host before that). */
function prepareHost(
  transport: Transport,
  user: UserRecord,
  campaign: CampaignSettings,
  beforeConnect: HeldSlot['beforeConnect'],
): void {
  if (!transport.prepare) return;
  try {
    transport.prepare(resolveDeployTarget(user.spec, campaign.file.deploy), user.spec.username, beforeConnect);
  } catch {
    // an unresolvable target is the step's own failure, reported below
  }
}

/**
 * The settings the user was queued for. An agent's cache may lag a re-import by up to its TTL: rendering with the
 * old settings would deploy the wrong profile, so a user queued by a later import than the cached settings' makes
 * the agent read the campaign again (an O(1) check: no hash per deploy).
 */
async function settingsFor(user: UserRecord, cached: CampaignSettings, deps: JobDeps): Promise<CampaignSettings> {
  if (user.importNo === undefined || user.importNo <= cached.imports) return cached;
  return (await deps.getCampaign(cached.name, { fresh: true })) ?? cached;
}

function parsePayload(data: unknown): DeployPayload {
  const parsed = deployPayloadSchema.safeParse(data);
  if (!parsed.success) throw new FleetError('FR_ERR_JOB_PAYLOAD_INVALID', parsed.error.message);
  return parsed.data;
}

/** The deploy stage as the runner sees it (job name = mode). */
export const deployJob = Object.freeze({
  names: ['apply', 'rollback'] as const satisfies readonly DeployMode[],
  payload: deployPayloadSchema,
  options: PIPELINE_JOB_OPTIONS,
  parsePayload,
  process: processDeploy,
});
