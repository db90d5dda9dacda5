import type { CampaignFile } from '../config/campaign-schema.js';
import { toProfileOptions } from '../config/campaign-settings.js';
import type { OfficeVersion, UserSpec } from '../csv/user-spec.js';
import { coerceError } from '../errors/index.js';
import { DEFAULT_OFFICE_POLICY, officePolicySkipReason } from '../profile/office-policy.js';
import { toPrfFileName } from '../profile/render-profile.js';
import { encodeRpcFlags, formatPtLong } from '../profile/rpc-flags.js';
import {
  type ProbeReport,
  type ProbeVerdict,
  summarizeVerdicts,
  verdictOfError,
  verdictOfProbe,
} from '../rollout/probe-result.js';
import { PENDING_RESTART_NOTE } from '../rollout/remote-result.js';
import { resolveDeployTarget } from '../rollout/resolve-target.js';
import type { AttemptRecord } from '../store/types.js';
import type { VerificationStatus } from '../store/verification-store.js';
import type { InspectRequest, Transport } from '../transport/transport.js';

/**
 * The two read-only looks at workstations a pilot needs (shared by the `probe` and `verify` commands): each user's
 * host is asked, at most `concurrency` at once (the deploy's own concurrency), through the campaign's transport with
 * the agent's host-key policy. Nothing is changed on any host.
 */
export interface InspectOptions {
  readonly campaign: string;
  readonly file: CampaignFile;
  readonly transport: Transport;
  readonly concurrency: number;
  /** Bound of one user's look (the deploy's `deploy.timeout_seconds`). */
  readonly timeoutMs: number;
}

/** Runs `work` over `items` with at most `limit` in flight; results keep the input order. */
export async function mapLimit<T, R>(
  items: AsyncIterable<T> | Iterable<T>,
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  const running = new Set<Promise<void>>();
  let index = 0;
  for await (const item of items) {
    const at = index++;
    const task = work(item).then((result) => {
      results[at] = result;
    });
    const tracked = task.finally(() => running.delete(tracked));
    running.add(tracked);
    if (running.size >= limit) await Promise.race(running);
  }
  await Promise.all(running);
  return results;
}

/** What the transport needs to look at one user's workstation, bounded by the deploy's own timeout. */
function inspectRequest(spec: UserSpec, options: InspectOptions): InspectRequest {
  return {
    campaign: options.campaign,
    user: spec.username,
    office: spec.office,
    fileName: toPrfFileName(spec.username),
    target: resolveDeployTarget(spec, options.file.deploy),
    signal: AbortSignal.timeout(options.timeoutMs),
  };
}

export interface ProbeRow {
  readonly username: string;
  readonly host: string;
  readonly office: OfficeVersion;
  readonly verdict: ProbeVerdict;
  readonly reason: string;
  readonly report?: ProbeReport;
}

export interface ProbeSummary {
  readonly rows: readonly ProbeRow[];
  /** "412 ready, 31 unreachable, 7 Outlook 2016+ → skipped by policy, 2 staging ACL unsafe" */
  readonly summary: string;
}

/** `fleet-rollout probe`: one read-only preflight per user (the host part is the same for a host's users). */
export async function probeUsers(specs: AsyncIterable<UserSpec> | Iterable<UserSpec>, options: InspectOptions) {
  const policy = toProfileOptions(options.file).officePolicy ?? DEFAULT_OFFICE_POLICY;
  const stageWhileRunning = options.file.deploy.stage_while_outlook_runs;
  const rows = await mapLimit(specs, options.concurrency, async (spec): Promise<ProbeRow> => {
    const base = { username: spec.username, host: spec.host ?? '', office: spec.office };
    const skip = officePolicySkipReason(spec.office, policy);
    try {
      const report = await options.transport.probe(inspectRequest(spec, options));
      return { ...base, ...verdictOfProbe(report, spec.office, policy, stageWhileRunning), report };
    } catch (error) {
      const failure = coerceError(error);
      if (skip) return { ...base, verdict: 'skipped-by-policy', reason: skip };
      return { ...base, verdict: verdictOfError(failure.code), reason: `${failure.code}: ${failure.message}` };
    }
  });
  return { rows, summary: summarizeVerdicts(rows) } satisfies ProbeSummary;
}

export interface VerifyRow {
  readonly username: string;
  readonly userKey: string;
  readonly host: string;
  readonly status: VerificationStatus;
  readonly reason: string;
}

export interface VerifySubject {
  readonly userKey: string;
  readonly spec: UserSpec;
  readonly checksum?: string;
  /** The user's attempts, newest first (an `applied-pending-restart` apply is noted in the last one). */
  readonly attempts: readonly AttemptRecord[];
  /** A shared deploy slot held for this look (campaign `caps:`), released once it ends. */
  readonly lease?: {
    readonly release: () => void;
    readonly beforeConnect?: (signal: AbortSignal) => Promise<void>;
  };
}

/** True when the user's last apply staged the PRF while Outlook ran (applied-pending-restart). */
export function stagedWhileRunning(attempts: readonly AttemptRecord[]): boolean {
  const last = attempts.find((a) => a.stage === 'apply' && a.outcome === 'applied');
  return last?.message === PENDING_RESTART_NOTE;
}

/** `fleet-rollout verify`: did Outlook consume the staged PRF, and does the profile hold the campaign's proxy? */
export async function verifyUsers(subjects: AsyncIterable<VerifySubject>, options: InspectOptions) {
  return mapLimit(subjects, options.concurrency, async (subject): Promise<VerifyRow> => {
    const { userKey, spec, checksum, attempts, lease } = subject;
    const base = { username: spec.username, userKey, host: spec.host ?? '' };
    try {
      const report = await options.transport.verify({
        ...inspectRequest(spec, options),
        ...(lease?.beforeConnect && { beforeConnect: lease.beforeConnect }),
        ...(checksum !== undefined && { checksum }),
        expectProxy: spec.proxyHost,
        expectFlags: formatPtLong(encodeRpcFlags(spec)),
      });
      const status = report.status === 'pending' && stagedWhileRunning(attempts) ? 'pending-restart' : report.status;
      return { ...base, status, reason: report.reason };
    } catch (error) {
      const failure = coerceError(error);
      const status = verdictOfError(failure.code) === 'unreachable' ? 'unreachable' : 'error';
      return { ...base, status, reason: `${failure.code}: ${failure.message}` };
    } finally {
      lease?.release();
    }
  });
}
