import type { OfficeVersion } from '../csv/user-spec.js';
import type { DeployTarget } from '../rollout/deploy-target.js';
import type { RemoteResult } from '../rollout/remote-result.js';

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
}

export interface RollbackRequest {
  readonly campaign: string;
  readonly user: string;
  readonly office: OfficeVersion;
  readonly fileName: string;
  readonly target: DeployTarget;
  readonly signal: AbortSignal;
  readonly timeoutMs?: number;
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
  close(): Promise<void>;
}
