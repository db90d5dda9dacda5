import type { CampaignFile } from '../config/campaign-schema.js';
import type { UserSpec } from '../csv/user-spec.js';
import type { FailureClass } from '../errors/index.js';
import type { CampaignState, UserState } from '../rollout/states.js';

/**
 * Records of record, in Redis. This file is the seam between the store (src/store) and its users
 * (src/jobs, src/campaign, src/workers, CLI, dashboard). Times are epoch milliseconds.
 */

export interface CampaignRecord {
  /** [A-Za-z0-9_-]{1,64}; used in job ids, so never contains ':' or '.' */
  readonly name: string;
  readonly state: CampaignState;
  /** Why the last state change happened (shown by status, audited later). */
  readonly stateReason: string;
  readonly csvFile: string;
  readonly csvSha256: string;
  /** The validated campaign file (defaults, profile, retry, deploy). No secrets by construction. */
  readonly settings: CampaignFile;
  /** How many times the campaign was imported (re-import with an edited CSV increments it). */
  readonly imports: number;
  readonly totalUsers: number;
  readonly rejectedRows: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly startedAt?: number;
  readonly finishedAt?: number;
}

export interface StoredError {
  readonly failureClass: FailureClass;
  readonly code: string;
  readonly message: string;
  readonly exitCode?: number;
}

export interface UserRecord {
  readonly campaign: string;
  /** Stable id of the user inside the campaign: hex hash of the NFC-lowercased username (no ':' or PII in keys/job ids). */
  readonly userKey: string;
  readonly username: string;
  readonly displayName?: string;
  readonly line: number;
  readonly spec: UserSpec;
  /** Hash of everything that changes what is deployed (spec + profile options + deploy target). */
  readonly specHash: string;
  readonly state: UserState;
  /** Incremented every time the user is (re)queued; a job carrying an older run is stale and does nothing. */
  readonly run: number;
  /** Attempts in the current run. */
  readonly attempts: number;
  readonly host?: string;
  readonly site?: string;
  readonly firstAttemptAt?: number;
  readonly nextAttemptAt?: number;
  readonly lastError?: StoredError;
  /** SHA-256 of the generated PRF bytes. */
  readonly checksum?: string;
  /** Remote backup path reported by the apply script (for rollback). */
  readonly backup?: string;
  readonly officeVersion?: string;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly finishedAt?: number;
}

export type AttemptStage = 'generate' | 'deploy' | 'rollback';

export interface AttemptRecord {
  readonly at: number;
  readonly stage: AttemptStage;
  readonly run: number;
  readonly attempt: number;
  readonly durationMs: number;
  readonly outcome: 'generated' | 'applied' | 'already-applied' | 'rolled-back' | 'retrying' | 'failed' | 'cancelled';
  readonly code?: string;
  readonly exitCode?: number;
  readonly message?: string;
  /** ≤ 2 KB */
  readonly stderrTail?: string;
  /** Agent that ran it (hostname:pid), to trace double runs. */
  readonly agent?: string;
}

/** Filters the dashboard and CLI use; all optional, combined with AND. */
export interface UserFilter {
  readonly state?: UserState;
  readonly site?: string;
  readonly code?: string;
  /** Case-insensitive username prefix (lexicographic index, O(log n) per page). */
  readonly prefix?: string;
  /** Case-insensitive substring of the username (bounded scan). */
  readonly search?: string;
  readonly user?: string;
}

export interface UserPage {
  readonly users: readonly UserRecord[];
  /** Opaque; absent when there is no further page. */
  readonly nextCursor?: string;
}

/** A state change, applied atomically with counters, indexes and the record (Lua). */
export interface UserTransition {
  /** The run the caller works on; if the record's run differs the transition is refused (stale job). */
  readonly run: number;
  /** Allowed current states; refused otherwise. Omit to allow any. */
  readonly from?: readonly UserState[];
  readonly to: UserState;
  /** Fields to set; `undefined` leaves a field as is; `null` clears it. */
  readonly patch?: {
    readonly attempts?: number;
    readonly firstAttemptAt?: number | null;
    readonly nextAttemptAt?: number | null;
    readonly lastError?: StoredError | null;
    readonly checksum?: string | null;
    readonly backup?: string | null;
    readonly officeVersion?: string | null;
  };
  /**
   * Attempt to add to the history in the same atomic step, only if the move happens (so a replayed or refused
   * transition never adds it twice); bounded like appendAttempt.
   */
  readonly attempt?: AttemptRecord;
}

export interface UpsertRow {
  readonly line: number;
  readonly spec: UserSpec;
  readonly specHash: string;
}

export interface UpsertResult {
  /** userKeys of new users and of users whose specHash changed; all set to `queued` with run + 1. */
  readonly queued: ReadonlyArray<{ readonly userKey: string; readonly run: number }>;
  readonly added: number;
  readonly changed: number;
  readonly unchanged: number;
}

/** What the store offers (implemented by createRecordStore(redis, prefix) in src/store/record-store.ts). */
export interface RecordStore {
  // campaigns
  getCampaign(name: string): Promise<CampaignRecord | undefined>;
  /** Create or replace the campaign record (state untouched when it exists, unless given). */
  saveCampaign(record: CampaignRecord): Promise<void>;
  /** Checks CAMPAIGN_TRANSITIONS atomically; throws FR_ERR_CAMPAIGN_STATE / FR_ERR_CAMPAIGN_NOT_FOUND. */
  setCampaignState(name: string, to: CampaignState, reason: string, now: number): Promise<CampaignRecord>;
  listCampaigns(): Promise<CampaignRecord[]>;

  // users
  upsertUsers(campaign: string, rows: readonly UpsertRow[], now: number): Promise<UpsertResult>;
  /** Users whose row was rejected but whose username is known: state `skipped` with the reason. */
  markSkipped(
    campaign: string,
    rows: ReadonlyArray<{ username: string; line: number; error: StoredError }>,
    now: number,
  ): Promise<void>;
  getUser(campaign: string, userKey: string): Promise<UserRecord | undefined>;
  getUsers(campaign: string, userKeys: readonly string[]): Promise<Array<UserRecord | undefined>>;
  findUserByName(campaign: string, username: string): Promise<UserRecord | undefined>;
  /** Atomic: record + counters + indexes (+ campaign `done` when nothing is in flight any more). false = refused (stale run or wrong state). */
  transition(campaign: string, userKey: string, transition: UserTransition, now: number): Promise<boolean>;
  /** Several users' transitions in one atomic call, each checked on its own as transition() does; one result per move. */
  transitionMany(
    campaign: string,
    moves: ReadonlyArray<{ readonly userKey: string; readonly transition: UserTransition }>,
    now: number,
  ): Promise<boolean[]>;
  /** Requeue: run + 1, state `queued`, attempts 0, errors cleared; returns the new run (undefined if the user does not exist). */
  requeue(campaign: string, userKey: string, now: number): Promise<number | undefined>;
  appendAttempt(campaign: string, userKey: string, attempt: AttemptRecord): Promise<void>;
  /**
   * While an import writes users into a campaign that agents already serve, the campaign must not turn `done`
   * just because agents caught up with the users written so far: beginImport sets (or renews) a guard with a
   * lease, endImport drops it and settles the campaign (`done` if running with nothing in flight).
   */
  beginImport(campaign: string, token: string, leaseMs: number): Promise<void>;
  endImport(campaign: string, token: string, now: number): Promise<void>;
  getAttempts(campaign: string, userKey: string): Promise<AttemptRecord[]>;

  // counts and queries
  countByState(campaign: string): Promise<Record<UserState, number>>;
  /** Slow recount from the records themselves (tests and `status --verify`). */
  recount(campaign: string): Promise<Record<UserState, number>>;
  /** Users that reached a final state per minute, for throughput/ETA: [minuteEpochMs, count][] for the last `minutes`. */
  completionsPerMinute(campaign: string, minutes: number, now: number): Promise<Array<[number, number]>>;
  queryUsers(campaign: string, filter: UserFilter, page: { cursor?: string; limit: number }): Promise<UserPage>;
  /** Streams matching users in batches (report, bulk retry) without loading them all. */
  scanUsers(campaign: string, filter: UserFilter, batchSize?: number): AsyncIterable<UserRecord[]>;
}
