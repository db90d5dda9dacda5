import { type ErrorCode, FleetError } from '../errors/index.js';
import type { DeployMode } from '../queue/types.js';
import type { TransitionIntent } from '../rollout/lifecycle.js';
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

/** The intents of each step's lifecycle (src/rollout/lifecycle.ts). */
export const STEP_INTENTS: Readonly<
  Record<DeployMode, Readonly<Record<'begin' | 'succeeded' | 'transient' | 'permanent', TransitionIntent>>>
> = {
  apply: {
    begin: 'deploy-begin',
    succeeded: 'deploy-succeeded',
    transient: 'deploy-failed-transient',
    permanent: 'deploy-failed-permanent',
  },
  rollback: {
    begin: 'rollback-begin',
    succeeded: 'rollback-succeeded',
    transient: 'rollback-failed-transient',
    permanent: 'rollback-failed-permanent',
  },
};

/** Waits between tries to record an outcome while Redis is away (the outcome is in memory: never give it up early). */
export const RECORD_RETRY_DELAYS_MS: readonly number[] = [200, 500, 1_000, 2_000, 4_000, 8_000, 15_000];

function toStoredError(error: FleetError, mode: DeployMode, failureClass = error.failureClass): StoredError {
  const exitCode = error.details['exitCode'];
  const cause = error.details['cause'];
  return {
    failureClass,
    code: error.code,
    message: error.message,
    stage: mode,
    ...(typeof exitCode === 'number' ? { exitCode } : {}),
    ...(typeof cause === 'string' ? { cause } : {}),
  };
}

function toAttempt(ctx: AttemptContext, now: number, deps: JobDeps, fields: Partial<AttemptRecord>): AttemptRecord {
  return {
    at: ctx.startedAt,
    stage: ctx.mode,
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
  const { name } = ctx.campaign;
  const { userKey } = ctx.user;
  const moved = await withRedisRetry(() => deps.store.transition(name, userKey, transition, now), ctx, deps);
  if (moved.result === 'moved' || moved.result === 'same') return true;
  if (moved.result === 'stale') {
    // A newer run owns the user (re-import, retry): this outcome is kept in its history, marked stale.
    deps.logger.info({ campaign: name, user: ctx.user.username, run: ctx.user.run }, 'outcome of a superseded run');
    return false;
  }
  const current = await withRedisRetry(() => deps.store.getUser(name, userKey), ctx, deps);
  return current?.run === ctx.user.run && current.attempts === ctx.attempt && current.stage === ctx.mode;
}

/**
 * An outcome the workstation reported is recorded, whatever Redis does meanwhile: a failing write is tried again
 * (ioredis reconnects), and only after about half a minute is the error handed to BullMQ, which runs the job again
 * (the scripts answer already-applied): Redis trouble is never recorded as the user's failure.
 */
async function withRedisRetry<T>(write: () => Promise<T>, ctx: AttemptContext, deps: JobDeps): Promise<T> {
  for (let tries = 0; ; tries += 1) {
    try {
      return await write();
    } catch (error) {
      const delay = RECORD_RETRY_DELAYS_MS[tries];
      if (delay === undefined) throw error;
      deps.logger.warn(
        { campaign: ctx.campaign.name, user: ctx.user.username, err: (error as Error).message },
        'cannot record the outcome yet, trying again',
      );
      await new Promise((resume) => setTimeout(resume, delay));
    }
  }
}

/** success → `applied` (or `rolled-back`), with checksum, backup and Office version from the remote result. */
export async function recordSuccess(
  ctx: AttemptContext,
  outcome: TransportOutcome,
  checksum: string,
  deps: JobDeps,
): Promise<JobDisposition> {
  const now = deps.now();
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
    {
      intent: STEP_INTENTS[ctx.mode].succeeded,
      run: ctx.user.run,
      patch: { ...patch, nextAttemptAt: null, lastError: null, onHost: null },
      attempt,
    },
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
      const lastError = toStoredError(error, ctx.mode);
      const attempt = toAttempt(ctx, now, deps, {
        outcome: 'retrying',
        code: error.code,
        message: error.message,
        ...detail,
      });
      const moved = await moveUser(
        ctx,
        {
          intent: STEP_INTENTS[ctx.mode].transient,
          run,
          patch: { nextAttemptAt: decision.nextAttemptAt, lastError, onHost: null },
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
    return fail(ctx, giveUp, toStoredError(giveUp, ctx.mode, 'transient'), { ...detail, cause: error.code }, deps, now);
  }
  return fail(ctx, error, toStoredError(error, ctx.mode), detail, deps, now);
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
    {
      intent: STEP_INTENTS[ctx.mode].permanent,
      run: ctx.user.run,
      patch: { nextAttemptAt: null, lastError, onHost: null },
      attempt,
    },
    deps,
    now,
  );
  return { kind: 'fail', error };
}
