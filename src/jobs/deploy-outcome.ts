import { type ErrorCode, FleetError } from '../errors/index.js';
import type { DeployMode } from '../queue/types.js';
import { attemptNoteOf, attemptOutcomeOf, tailOf } from '../rollout/remote-result.js';
import { decideRetry } from '../rollout/retry-policy.js';
import type { AttemptRecord, StoredError, UserRecord, UserTransition } from '../store/types.js';
import type { TransportOutcome } from '../transport/transport.js';
import type { CampaignSettings, JobDeps, JobDisposition } from './types.js';

/** One deploy attempt in flight: who, which run, which attempt, since when. */
export interface AttemptContext {
  readonly campaign: CampaignSettings;
  readonly user: UserRecord;
  readonly mode: DeployMode;
  readonly attempt: number;
  readonly firstAttemptAt: number;
  readonly startedAt: number;
}

const stage = (mode: DeployMode): AttemptRecord['stage'] => (mode === 'apply' ? 'deploy' : 'rollback');

function toStoredError(error: FleetError, failureClass = error.failureClass): StoredError {
  const exitCode = error.details['exitCode'];
  return {
    failureClass,
    code: error.code,
    message: error.message,
    ...(typeof exitCode === 'number' ? { exitCode } : {}),
  };
}

function toAttempt(ctx: AttemptContext, now: number, deps: JobDeps, fields: Partial<AttemptRecord>): AttemptRecord {
  return {
    at: ctx.startedAt,
    stage: stage(ctx.mode),
    run: ctx.user.run,
    attempt: ctx.attempt,
    durationMs: Math.max(0, now - ctx.startedAt),
    outcome: 'failed',
    agent: deps.agentId,
    ...fields,
  };
}

/**
 * The store's transition (which appends the attempt to the history in the same atomic step), plus one re-read
 * when it answers "refused": after a Redis restart the client resends a script whose reply was lost, and the
 * resend is refused because the first run already moved the user (and recorded the attempt, once). If the
 * record shows our run and our attempt in the target state, the move was ours.
 */
async function moveUser(ctx: AttemptContext, transition: UserTransition, deps: JobDeps, now: number): Promise<boolean> {
  if (await deps.store.transition(ctx.campaign.name, ctx.user.userKey, transition, now)) return true;
  const current = await deps.store.getUser(ctx.campaign.name, ctx.user.userKey);
  return current?.state === transition.to && current.run === ctx.user.run && current.attempts === ctx.attempt;
}

/** success → `applied` (or `rolled-back`), with checksum, backup and Office version from the remote result. */
export async function recordSuccess(
  ctx: AttemptContext,
  outcome: TransportOutcome,
  checksum: string,
  deps: JobDeps,
): Promise<JobDisposition> {
  const now = deps.now();
  const to = ctx.mode === 'apply' ? 'applied' : 'rolled-back';
  const patch =
    ctx.mode === 'apply'
      ? { checksum, backup: outcome.backup ?? null, officeVersion: outcome.officeVersion ?? null }
      : { officeVersion: outcome.officeVersion ?? null };
  const attempt = toAttempt(ctx, now, deps, {
    outcome: attemptOutcomeOf(outcome.status),
    ...(attemptNoteOf(outcome.status) !== undefined && { message: attemptNoteOf(outcome.status) }),
    exitCode: 0,
    durationMs: outcome.durationMs,
    ...(outcome.stderrTail ? { stderrTail: tailOf(outcome.stderrTail) } : {}),
  });
  await moveUser(
    ctx,
    { run: ctx.user.run, from: ['deploying'], to, patch: { ...patch, nextAttemptAt: null, lastError: null }, attempt },
    deps,
    now,
  );
  return { kind: 'done' };
}

const GIVE_UP_CODES: Readonly<Record<'attempts-exhausted' | 'horizon-exceeded', ErrorCode>> = {
  'attempts-exhausted': 'FR_ERR_ATTEMPTS_EXHAUSTED',
  'horizon-exceeded': 'FR_ERR_RETRY_HORIZON_EXCEEDED',
};

/**
 * A failed attempt: transient → our retry policy decides (state `retrying` + the exact delay, or `failed` when
 * attempts or horizon are used up, wrapping the last cause); permanent → `failed`, never retried.
 */
export async function recordFailure(ctx: AttemptContext, error: FleetError, deps: JobDeps): Promise<JobDisposition> {
  const now = deps.now();
  const stderrTail = typeof error.details['stderrTail'] === 'string' ? tailOf(error.details['stderrTail']) : undefined;
  const exitCode = typeof error.details['exitCode'] === 'number' ? error.details['exitCode'] : undefined;
  const detail = { ...(exitCode !== undefined ? { exitCode } : {}), ...(stderrTail ? { stderrTail } : {}) };
  const { run } = ctx.user;

  if (error.retryable) {
    const decision = decideRetry(ctx.attempt, ctx.firstAttemptAt, now, ctx.campaign.retryPolicy, deps.random());
    if (decision.retry) {
      const lastError = toStoredError(error);
      const attempt = toAttempt(ctx, now, deps, {
        outcome: 'retrying',
        code: error.code,
        message: error.message,
        ...detail,
      });
      const moved = await moveUser(
        ctx,
        {
          run,
          from: ['deploying'],
          to: 'retrying',
          patch: { nextAttemptAt: decision.nextAttemptAt, lastError },
          attempt,
        },
        deps,
        now,
      );
      if (!moved) return { kind: 'done' };
      return { kind: 'delay', until: decision.nextAttemptAt };
    }
    const giveUp = new FleetError(
      GIVE_UP_CODES[decision.reason],
      `${decision.reason === 'attempts-exhausted' ? `gave up after ${ctx.attempt} attempts` : 'retry horizon exceeded'}; last error ${error.code}: ${error.message}`,
      { ...error.details, cause: error.code },
      { cause: error },
    );
    return fail(ctx, giveUp, toStoredError(giveUp, 'transient'), detail, deps, now);
  }
  return fail(ctx, error, toStoredError(error), detail, deps, now);
}

async function fail(
  ctx: AttemptContext,
  error: FleetError,
  lastError: StoredError,
  detail: Partial<AttemptRecord>,
  deps: JobDeps,
  now: number,
): Promise<JobDisposition> {
  const attempt = toAttempt(ctx, now, deps, { outcome: 'failed', code: error.code, message: error.message, ...detail });
  await moveUser(
    ctx,
    { run: ctx.user.run, from: ['deploying'], to: 'failed', patch: { nextAttemptAt: null, lastError }, attempt },
    deps,
    now,
  );
  return { kind: 'fail', error };
}
