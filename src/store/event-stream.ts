import type { Redis } from 'ioredis';
import type { CampaignIntent, UserIntent } from '../rollout/lifecycle.js';
import type { CampaignState, UserState } from '../rollout/states.js';
import type { StoreKeys } from './keys.js';
import type { AttemptRecord } from './types.js';

/**
 * The campaign's event stream: the Lua scripts append one entry per move in the same atomic step as the move, so
 * any process (`status --watch`, the dashboard's live view) can follow what happens, from where it left off.
 * Trimmed to ~10,000 entries: outcomes and reports come from the records, never from here.
 */
export type FleetEvent =
  | {
      readonly type: 'user-state-changed' | 'attempt-recorded';
      readonly id: string;
      readonly campaign: string;
      readonly userKey: string;
      readonly from: UserState | 'absent';
      readonly to: UserState | 'removed';
      readonly intent: UserIntent;
      readonly run: number;
      readonly at: number;
      /** The outcome of a run that had been superseded: recorded in the history, the state untouched. */
      readonly stale: boolean;
      /** What the recorded attempt says (attempt-recorded events only). */
      readonly attempt?: EventAttempt;
    }
  | {
      /** The generate stage recorded a chunk of users `generated` (one event per chunk, not per user). */
      readonly type: 'users-generated';
      readonly id: string;
      readonly campaign: string;
      readonly count: number;
      readonly at: number;
    }
  | {
      /** The enforcer promoted the next wave (its users may start from `opensAt`, after the soak time). */
      readonly type: 'wave-promoted';
      readonly id: string;
      readonly campaign: string;
      readonly wave: number;
      readonly opensAt: number;
      readonly at: number;
    }
  | {
      readonly type: 'campaign-state-changed';
      readonly id: string;
      readonly campaign: string;
      readonly from: CampaignState;
      readonly to: CampaignState;
      readonly intent: CampaignIntent;
      readonly reason: string;
      readonly at: number;
    };

/** The attempt an `attempt-recorded` event carries: enough for metrics without reading the history. */
export interface EventAttempt {
  readonly outcome: AttemptRecord['outcome'];
  readonly stage: AttemptRecord['stage'];
  readonly durationMs: number;
  readonly code?: string;
  readonly cause?: string;
}

/** Intents that end a step: their event also says an attempt was recorded. */
const OUTCOME_INTENTS: ReadonlySet<string> = new Set([
  'generate-failed',
  'deploy-succeeded',
  'deploy-failed-transient',
  'deploy-failed-permanent',
  'rollback-succeeded',
  'rollback-failed-transient',
  'rollback-failed-permanent',
]);

export function decodeEvent(campaign: string, id: string, fields: readonly string[]): FleetEvent {
  const f: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i] as string] = fields[i + 1] as string;
  const at = Number(f['at'] ?? 0);
  if (f['k'] === 'g') return { type: 'users-generated', id, campaign, count: Number(f['n'] ?? 0), at };
  if (f['k'] === 'w') {
    return { type: 'wave-promoted', id, campaign, wave: Number(f['wave'] ?? 0), opensAt: Number(f['opens'] ?? 0), at };
  }
  if (f['k'] === 'c') {
    return {
      type: 'campaign-state-changed',
      id,
      campaign,
      from: f['from'] as CampaignState,
      to: f['to'] as CampaignState,
      intent: f['i'] as CampaignIntent,
      reason: f['reason'] ?? '',
      at,
    };
  }
  const intent = f['i'] as UserIntent;
  return {
    type: OUTCOME_INTENTS.has(intent) ? 'attempt-recorded' : 'user-state-changed',
    id,
    campaign,
    userKey: f['uk'] ?? '',
    from: (f['from'] === '-' ? 'absent' : f['from']) as UserState | 'absent',
    to: f['to'] as UserState | 'removed',
    intent,
    run: Number(f['r'] ?? 0),
    at,
    stale: f['stale'] === '1',
    ...(f['o'] !== undefined && { attempt: decodeAttempt(f) }),
  };
}

function decodeAttempt(f: Record<string, string>): EventAttempt {
  return {
    outcome: f['o'] as AttemptRecord['outcome'],
    stage: f['sg'] as AttemptRecord['stage'],
    durationMs: Number(f['d'] ?? 0),
    ...(f['ec'] !== undefined && { code: f['ec'] }),
    ...(f['cc'] !== undefined && { cause: f['cc'] }),
  };
}

export interface FollowOptions {
  /** Stream id to start after; `$` (default) = only what happens from now on, `0` = everything still kept. */
  readonly from?: string;
  readonly signal?: AbortSignal;
  /** Longest wait of one blocking read (the signal is checked between reads). */
  readonly blockMs?: number;
}

/** Events of one campaign as they happen, on a connection of their own (XREAD BLOCK holds it). */
export async function* followEvents(
  redis: Redis,
  keys: StoreKeys,
  campaign: string,
  options: FollowOptions = {},
): AsyncGenerator<FleetEvent> {
  const reader = redis.duplicate();
  reader.on('error', () => {}); // surfaced by the read itself
  const key = keys.events(campaign);
  let last = options.from ?? '$';
  try {
    while (!options.signal?.aborted) {
      const reply = (await reader.xread('COUNT', 500, 'BLOCK', options.blockMs ?? 1000, 'STREAMS', key, last)) as Array<
        [string, Array<[string, string[]]>]
      > | null;
      for (const [, entries] of reply ?? []) {
        for (const [id, fields] of entries) {
          last = id;
          yield decodeEvent(campaign, id, fields);
        }
      }
    }
  } finally {
    reader.disconnect();
  }
}

/** Events already kept, oldest first, after `after` (paging for the dashboard and tests). */
export async function readEvents(
  redis: Redis,
  keys: StoreKeys,
  campaign: string,
  after = '-',
  count = 1000,
): Promise<FleetEvent[]> {
  const start = after === '-' ? '-' : `(${after}`;
  const entries = (await redis.xrange(keys.events(campaign), start, '+', 'COUNT', count)) as Array<[string, string[]]>;
  return entries.map(([id, fields]) => decodeEvent(campaign, id, fields));
}
