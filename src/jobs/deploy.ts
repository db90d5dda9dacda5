import { coerceError, FleetError } from '../errors/index.js';
import { type DeployPayload, deployPayloadSchema, PIPELINE_JOB_OPTIONS } from '../queue/job-specs.js';
import type { DeployMode } from '../queue/types.js';
import { resolveDeployTarget } from '../rollout/resolve-target.js';
import type { UserState } from '../rollout/states.js';
import type { Transport } from '../transport/transport.js';
import { type AttemptContext, recordFailure, recordSuccess } from './deploy-outcome.js';
import { PAUSED_RECHECK_MS } from './generate.js';
import { linkSignals } from './link-signals.js';
import type { JobContext, JobDeps, JobDisposition } from './types.js';

/** States a deploy job may start from: first try, a retry, or a re-run after an agent died mid-attempt. */
const DEPLOYABLE: readonly UserState[] = ['generated', 'retrying', 'deploying'];
const ROLLBACKABLE: readonly UserState[] = ['applied', 'failed', 'generated', 'retrying', 'deploying'];
const CANCELLABLE: readonly UserState[] = ['queued', 'generated', 'retrying', 'deploying'];

/** How long a job waits when this agent cannot build the campaign's transport. */
const TRANSPORT_UNAVAILABLE_RECHECK_MS = 30_000;

/** A retry whose time has not come (the agent died between recording `retrying` and parking the job). */
const EARLY_SLACK_MS = 250;

/**
 * Deploy stage, one job per user and run (`apply` or `rollback`). The record decides, not the job: a stale run
 * does nothing, a cancelled campaign cancels the user, a paused one parks the job. The PRF is rendered again
 * (deterministic) and must match the checksum recorded at generate time. The transport gets an AbortSignal
 * that fires after `deploy.timeout_seconds` (BullMQ has no job timeout) or when the agent shuts down.
 */
export async function processDeploy(
  payload: DeployPayload,
  mode: DeployMode,
  context: JobContext,
  deps: JobDeps,
): Promise<JobDisposition> {
  const [campaign, user] = await Promise.all([
    deps.getCampaign(payload.campaign),
    deps.loadUser
      ? deps.loadUser(payload.campaign, payload.userKey)
      : deps.store.getUser(payload.campaign, payload.userKey),
  ]);
  if (!campaign || !user || user.run !== payload.run) return { kind: 'done' };
  const now = deps.now();
  if (campaign.state === 'cancelled') {
    if (CANCELLABLE.includes(user.state)) {
      await deps.store.transition(
        campaign.name,
        user.userKey,
        { run: user.run, from: CANCELLABLE, to: 'cancelled' },
        now,
      );
    }
    return { kind: 'done' };
  }
  if (campaign.state === 'paused' || campaign.state === 'halted')
    return { kind: 'delay', until: now + PAUSED_RECHECK_MS };
  if (!(mode === 'apply' ? DEPLOYABLE : ROLLBACKABLE).includes(user.state)) return { kind: 'done' };
  if (user.state === 'retrying' && user.nextAttemptAt !== undefined && user.nextAttemptAt > now + EARLY_SLACK_MS) {
    return { kind: 'delay', until: user.nextAttemptAt };
  }

  if (context.stalls > context.maxStalls) {
    const error = new FleetError('FR_ERR_JOB_STALLED', `the job stalled ${context.stalls} times`);
    const lastError = { failureClass: 'permanent' as const, code: error.code, message: error.message };
    await deps.store.transition(
      campaign.name,
      user.userKey,
      { run: user.run, from: DEPLOYABLE, to: 'failed', patch: { lastError, nextAttemptAt: null } },
      now,
    );
    return { kind: 'fail', error };
  }

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

  const attempt = user.attempts + 1;
  const firstAttemptAt = user.firstAttemptAt ?? now;
  const started = await deps.store.transition(
    campaign.name,
    user.userKey,
    {
      run: user.run,
      from: mode === 'apply' ? DEPLOYABLE : ROLLBACKABLE,
      to: 'deploying',
      patch: { attempts: attempt, firstAttemptAt },
    },
    now,
  );
  if (!started) return { kind: 'done' };
  const ctx: AttemptContext = { campaign, user, mode, attempt, firstAttemptAt, startedAt: now };
  const logFields = { campaign: campaign.name, userKey: user.userKey, stage: mode, host: user.spec.host, attempt };

  // One signal for the step: the deploy timeout, or the agent stopping (BullMQ has no job timeout).
  const step = linkSignals([context.signal]);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    step.abort(
      new FleetError('FR_ERR_TRANSPORT_TIMEOUT', `no answer within ${campaign.file.deploy.timeout_seconds} s`),
    );
  }, campaign.file.deploy.timeout_seconds * 1000);
  const { signal } = step;
  try {
    const target = resolveDeployTarget(user.spec, campaign.file.deploy);
    const rendered = deps.render(user.spec, campaign.profileOptions);
    if (!rendered.ok) throw new FleetError(rendered.rejection.code, rendered.rejection.reason);
    const { artifact } = rendered;
    const base = { campaign: campaign.name, user: user.spec.username, office: user.spec.office, target, signal };
    if (mode === 'rollback') {
      const outcome = await transport.rollback({ ...base, fileName: artifact.fileName });
      return await recordSuccess(ctx, outcome, user.checksum ?? artifact.sha256, deps);
    }
    if (user.checksum !== undefined && user.checksum !== artifact.sha256) {
      throw new FleetError('FR_ERR_ARTIFACT_CHANGED', undefined, { host: target.host });
    }
    const stageWhileRunning = campaign.file.deploy.stage_while_outlook_runs;
    const outcome = await transport.apply({ ...base, artifact, stageWhileRunning });
    if (deps.logger.isLevelEnabled('debug')) deps.logger.debug({ ...logFields, status: outcome.status }, 'deployed');
    return await recordSuccess(ctx, outcome, artifact.sha256, deps);
  } catch (error) {
    const failure = coerceError(error);
    if (context.signal.aborted && !timedOut) {
      // Shutting down: hand the user back untouched (attempt not counted) for another agent to take now.
      await deps.store.transition(
        campaign.name,
        user.userKey,
        {
          run: user.run,
          from: ['deploying'],
          to: 'retrying',
          patch: { attempts: user.attempts, nextAttemptAt: deps.now() },
        },
        deps.now(),
      );
      return { kind: 'delay', until: deps.now() };
    }
    deps.logger.info({ ...logFields, code: failure.code, class: failure.failureClass }, 'deploy attempt failed');
    return await recordFailure(ctx, failure, deps);
  } finally {
    clearTimeout(timer);
    step.unlink();
  }
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
