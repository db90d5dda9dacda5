import type { CampaignFile } from '../config/campaign-schema.js';
import type { UserSpec } from '../csv/user-spec.js';
import type { FailureClass } from '../errors/index.js';
import type { CampaignIntent, TransitionIntent } from '../rollout/lifecycle.js';
import type { CampaignState, Stage, UserState } from '../rollout/states.js';

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
  /** Progress of the last import: `writing` while (or because) it has not reached its end; the campaign is not done meanwhile. */
  readonly importState?: 'writing' | 'complete';
  /** Rows the last import had to write (valid + rejected with a username), and how many it wrote. */
  readonly importTotal?: number;
  readonly importWritten?: number;
  /** Why the last import stopped before its end (e.g. Redis out of memory). */
  readonly importError?: string;
  /** Waves of the campaign (assigned at import) and where they stand; absent without `waves:` in the file. */
  readonly waves?: WaveProgress;
  /** While halted by a wave: which wave and (some of) its failing users; the reason is `stateReason`. */
  readonly halt?: { readonly wave: number; readonly users: readonly string[] };
}

/** Where a campaign's waves stand, as the store's Lua keeps it (see store/wave-lua.ts). */
export interface WaveProgress {
  readonly count: number;
  /** Users per wave as the last import planned them (written with the record; the Lua reads them). */
  readonly sizes?: readonly number[];
  /** Users of waves up to `open` may start (those of wave `open` from `opensAt` on: the soak time). */
  readonly open: number;
  readonly opensAt?: number;
  /** The last wave an admin's resume accepted after it halted the campaign. */
  readonly accepted?: number;
}

export interface StoredError {
  readonly failureClass: FailureClass;
  readonly code: string;
  readonly message: string;
  readonly exitCode?: number;
  /** The underlying code a wrapping code stands for (FR_ERR_ATTEMPTS_EXHAUSTED → the last attempt's code). */
  readonly cause?: string;
  /** The step that failed: a failed rollback is retried as a rollback. */
  readonly stage?: Stage;
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
  /** The step of the current or last attempt (`apply` or `rollback`). */
  readonly stage?: Stage;
  /** Why the deploy gate parks this user (window closed, campaign paused…), while it waits. */
  readonly parkedReason?: string;
  /** The import that queued the current run: the campaign settings to deploy with are that import's or later. */
  readonly importNo?: number;
  /** A step is on the workstation: its run and since when (it may belong to a run a re-import superseded). */
  readonly onHost?: { readonly run: number; readonly since: number };
  /** The user's wave (1-based), assigned at import by the wave planner; absent without waves. */
  readonly wave?: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly finishedAt?: number;
}

export type AttemptStage = Stage;

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
  /** The underlying code when `code` wraps one (attempts exhausted). */
  readonly cause?: string;
  /** The run had been superseded (re-import, retry) when this outcome arrived: recorded, not applied to the state. */
  readonly stale?: boolean;
}

/** Filters the dashboard and CLI use; all optional, combined with AND. */
export interface UserFilter {
  readonly state?: UserState;
  readonly site?: string;
  readonly code?: string;
  /** The step of the user's current or last attempt (stage index). */
  readonly stage?: Stage;
  /** Case-insensitive username prefix (lexicographic index, O(log n) per page). */
  readonly prefix?: string;
  /** Case-insensitive substring of the username, e-mail address or host (filtered inside Redis, budgeted). */
  readonly search?: string;
  readonly user?: string;
}

/**
 * The order of a users page, each served by an index: `name` (default when no other index drives) and `-name`
 * walk the name index; `updated`/`-updated` (last change) walk the state index, so they need a state filter.
 */
export type UserSort = 'name' | '-name' | 'updated' | '-updated';

export interface UserPageRequest {
  readonly cursor?: string;
  readonly limit: number;
  readonly sort?: UserSort;
}

export interface UserPage {
  readonly users: readonly UserRecord[];
  /** Opaque; absent when there is no further page. */
  readonly nextCursor?: string;
}

/**
 * A state change by intent (src/rollout/lifecycle.ts decides where it leads), applied atomically with counters,
 * indexes, the record and the event stream (Lua).
 */
export interface UserTransition {
  /** `remove` deletes the record: RecordStore.removeUsers takes it. */
  readonly intent: TransitionIntent;
  /** The run a job works on; if the record's run differs the move is refused as stale. Omit for admin intents. */
  readonly run?: number;
  /** Fields to set; `undefined` leaves a field as is; `null` clears it. */
  readonly patch?: {
    readonly attempts?: number;
    readonly firstAttemptAt?: number | null;
    readonly nextAttemptAt?: number | null;
    readonly lastError?: StoredError | null;
    readonly checksum?: string | null;
    readonly backup?: string | null;
    readonly officeVersion?: string | null;
    readonly stage?: Stage | null;
    readonly parkedReason?: string | null;
    readonly onHost?: { readonly run: number; readonly since: number } | null;
  };
  /**
   * Attempt to add to the history in the same atomic step, only if the move happens (so a replayed or refused
   * transition never adds it twice); bounded like appendAttempt.
   */
  readonly attempt?: AttemptRecord;
}

export type TransitionResult =
  | { readonly result: 'moved' | 'same'; readonly state: UserState; readonly run: number }
  | { readonly result: 'refused'; readonly state: UserState; readonly run: number; readonly reason: string }
  | { readonly result: 'stale'; readonly state: UserState; readonly run: number }
  | { readonly result: 'absent' };

export interface CampaignMove {
  readonly previous: CampaignState;
  readonly campaign: CampaignRecord;
  readonly changed: boolean;
}

export interface UpsertRow {
  readonly line: number;
  readonly spec: UserSpec;
  readonly specHash: string;
  /** The user's wave in this import (absent: no waves). */
  readonly wave?: number;
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
  /** Applies a campaign intent (CAMPAIGN_TRANSITIONS, atomically); throws FR_ERR_CAMPAIGN_STATE with the reason / FR_ERR_CAMPAIGN_NOT_FOUND. */
  applyCampaignIntent(name: string, intent: CampaignIntent, reason: string, now: number): Promise<CampaignMove>;
  listCampaigns(): Promise<CampaignRecord[]>;

  // users
  /** Rows of import number `importNo`: new or changed ones take intent `import`; every row is marked seen. */
  upsertUsers(campaign: string, rows: readonly UpsertRow[], importNo: number, now: number): Promise<UpsertResult>;
  /** Users whose row was rejected but whose username is known: intent `reject-row` with the reason. */
  markSkipped(
    campaign: string,
    rows: ReadonlyArray<{ username: string; line: number; error: StoredError }>,
    importNo: number,
    now: number,
  ): Promise<void>;
  /** Intent `remove`; a user whose step is on the host is refused (its outcome comes first). */
  removeUsers(campaign: string, userKeys: readonly string[], now: number): Promise<TransitionResult[]>;
  /** Users not seen by import number `importNo` (their rows left the CSV), in batches. */
  scanMissing(campaign: string, importNo: number, batchSize?: number): AsyncIterable<string[]>;
  countMissing(campaign: string, importNo: number): Promise<number>;
  getUser(campaign: string, userKey: string): Promise<UserRecord | undefined>;
  getUsers(campaign: string, userKeys: readonly string[]): Promise<Array<UserRecord | undefined>>;
  findUserByName(campaign: string, username: string): Promise<UserRecord | undefined>;
  /** Atomic: record + counters + indexes + event (+ campaign `done` when nothing is in flight any more). */
  transition(campaign: string, userKey: string, transition: UserTransition, now: number): Promise<TransitionResult>;
  /** Several users' transitions in one atomic call, each checked on its own as transition() does; one result per move. */
  transitionMany(
    campaign: string,
    moves: ReadonlyArray<{ readonly userKey: string; readonly transition: UserTransition }>,
    now: number,
  ): Promise<TransitionResult[]>;
  /**
   * While an import writes users, the campaign must not turn `done` just because agents caught up with the users
   * written so far, nor after the importer died: beginImport marks the import `writing` (with a lease and the rows
   * to write), progressImport renews it, endImport marks it complete and settles the campaign, failImport records why
   * it stopped (it stays incomplete until the same import runs again).
   */
  beginImport(campaign: string, token: string, leaseMs: number, total: number, now: number): Promise<void>;
  progressImport(campaign: string, token: string, leaseMs: number, written: number): Promise<void>;
  endImport(campaign: string, token: string, now: number): Promise<void>;
  failImport(campaign: string, reason: string, now: number): Promise<void>;
  /** Whether an importer holds the lease right now (an incomplete import without one is a dead importer). */
  isImportAlive(campaign: string): Promise<boolean>;
  getAttempts(campaign: string, userKey: string): Promise<AttemptRecord[]>;

  // counts and queries
  countByState(campaign: string): Promise<Record<UserState, number>>;
  /** Slow recount from the records themselves (tests and `status --verify`). */
  recount(campaign: string): Promise<Record<UserState, number>>;
  /** Users per wave and state (`<wave>:<state>` counters the Lua keeps with every move). */
  waveCounts(campaign: string): Promise<Map<number, Partial<Record<UserState, number>>>>;
  /** Users of a wave waiting to deploy (queued, generated, retrying) with their run: whom an opening wave wakes. */
  waveWaiting(campaign: string, wave: number): Promise<Array<{ readonly userKey: string; readonly run: number }>>;
  /** Durations (ms) of the last successful applies, newest first (at most 100). */
  recentApplyDurations(campaign: string): Promise<number[]>;
  /** Users that reached a final state per minute, for throughput/ETA: [minuteEpochMs, count][] for the last `minutes`. */
  completionsPerMinute(campaign: string, minutes: number, now: number): Promise<Array<[number, number]>>;
  queryUsers(campaign: string, filter: UserFilter, page: UserPageRequest): Promise<UserPage>;
  /** Streams matching users in batches (report, bulk retry) without loading them all. */
  scanUsers(campaign: string, filter: UserFilter, batchSize?: number): AsyncIterable<UserRecord[]>;
}
