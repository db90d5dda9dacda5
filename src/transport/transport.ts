import type { OfficeVersion } from '../csv/user-spec.js';
import type { DeployTarget } from '../rollout/deploy-target.js';
import type { ProbeReport } from '../rollout/probe-result.js';
import type { RemoteResult } from '../rollout/remote-result.js';
import type { VerifyReport } from '../rollout/verify-result.js';

export type { DeployTarget, TargetOs } from '../rollout/deploy-target.js';

export interface ArtifactToDeploy {
  /** `<username>.prf` */
  readonly fileName: string;
  readonly bytes: Uint8Array;
  /** hex SHA-256 of bytes */
  readonly sha256: string;
}

export interface ApplyRequest {
  readonly campaign: string;
  /** Windows user whose profile is changed (validated). */
  readonly user: string;
  readonly office: OfficeVersion;
  readonly artifact: ArtifactToDeploy;
  readonly target: DeployTarget;
  /** Aborted on shutdown: the transport must stop promptly and throw FR_ERR_CANCELLED. */
  readonly signal: AbortSignal;
  /** The step's budget, counted once the transport holds the host's slot (FR_ERR_TRANSPORT_TIMEOUT past it). */
  readonly timeoutMs?: number;
  /**
   * Campaign `deploy.stage_while_outlook_runs`: when Outlook runs in the user's session, stage anyway and answer
   * `applied-pending-restart` (Outlook imports at its next clean start) instead of exit 75.
   */
  readonly stageWhileRunning?: boolean;
  /** Waits for the shared connection rate (campaign `caps:`) before a new connection is dialled (ssh only). */
  readonly beforeConnect?: (signal: AbortSignal) => Promise<void>;
}

export interface RollbackRequest {
  readonly campaign: string;
  readonly user: string;
  readonly office: OfficeVersion;
  readonly fileName: string;
  readonly target: DeployTarget;
  readonly signal: AbortSignal;
  readonly timeoutMs?: number;
  readonly beforeConnect?: (signal: AbortSignal) => Promise<void>;
}

/** A read-only look at one user's workstation (probe / verify modes of the script): what a rollback names, no upload. */
export type InspectRequest = RollbackRequest;

/** What `verify` expects Outlook to have taken from the PRF. */
export interface VerifyRequest extends InspectRequest {
  /** hex SHA-256 of the PRF the campaign staged (recorded on the user). */
  readonly checksum?: string;
  readonly expectProxy?: string;
  /** `RPCoverHTTPflags` as written in the PRF (`0x0023`). */
  readonly expectFlags?: string;
}

/** What a successful remote run reports, plus timings the attempt history keeps. */
export interface TransportOutcome extends RemoteResult {
  readonly durationMs: number;
  readonly stderrTail: string;
}

/**
 * One way to reach workstations. Failures are thrown as FleetError with a code from src/errors
 * (transient or permanent) and details { host, exitCode?, stderrTail? } — never secrets.
 */
export interface Transport {
  readonly kind: 'local' | 'ssh';
  apply(request: ApplyRequest): Promise<TransportOutcome>;
  rollback(request: RollbackRequest): Promise<TransportOutcome>;
  /**
   * Optional: start reaching `target` for `user`'s coming step (connect, check the host key, authenticate: nothing
   * runs on the host), so the step's start is recorded meanwhile. Never throws; the step reports any failure.
   * `beforeConnect` is the shared connection rate a new dial waits for, as in the step's own request.
   */
  prepare?(target: DeployTarget, user: string, beforeConnect?: (signal: AbortSignal) => Promise<void>): void;
  /** Read-only preflight of one user's workstation (`fleet-rollout probe`); never changes anything. */
  probe(request: InspectRequest): Promise<ProbeReport>;
  /** Read-only check that Outlook consumed the staged PRF (`fleet-rollout verify`). */
  verify(request: VerifyRequest): Promise<VerifyReport>;
  close(): Promise<void>;
}
