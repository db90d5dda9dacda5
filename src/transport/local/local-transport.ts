import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { FleetError, isFleetError } from '../../errors/index.js';
import { interpretProbeRun, type ProbeReport } from '../../rollout/probe-result.js';
import { interpretRemoteRun, tailOf } from '../../rollout/remote-result.js';
import { interpretVerifyRun, type VerifyReport } from '../../rollout/verify-result.js';
import { runWithinBudget } from '../link-signals.js';
import type {
  ApplyRequest,
  InspectRequest,
  RollbackRequest,
  Transport,
  TransportOutcome,
  VerifyRequest,
} from '../transport.js';
import { stageFileAtomically } from './stage-file.js';

export interface LocalTransportOptions {
  /** Directory holding one simulated workstation per host: `<root>/<host>/`. */
  readonly root: string;
  /** The POSIX apply script (agent/posix/apply-profile.sh). */
  readonly scriptPath: string;
  /**
   * `noop`: touch no workstation (no staging, no script) and answer `applied` with the artifact's checksum.
   * Benchmarks measure the orchestrator (queues, records, rendering), not the disk or sh.
   */
  readonly apply?: 'script' | 'noop';
}

/** A host name becomes a directory name: refuse anything that could leave the root. */
function toHostDir(root: string, host: string): string {
  if (host === '' || host === '.' || host === '..' || /[/\\\u0000-\u001f]/.test(host)) {
    throw new FleetError('FR_ERR_ROW_FIELD_INVALID', 'host cannot name a local workstation directory', { host });
  }
  return join(root, host);
}

interface ScriptRun {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `sh <script> args…` (an argument array, never a shell string); the signal kills it. */
function runScript(scriptPath: string, args: readonly string[], signal: AbortSignal, host: string): Promise<ScriptRun> {
  return new Promise((done, fail) => {
    execFile(
      'sh',
      [scriptPath, ...args],
      { signal, killSignal: 'SIGKILL', maxBuffer: 1024 * 1024, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin' } },
      (error, stdout, stderr) => {
        if (signal.aborted) {
          fail(toAbortError(signal, host));
          return;
        }
        if (error && typeof error.code !== 'number') {
          fail(new FleetError('FR_ERR_TRANSPORT_SPAWN', error.message, { host }));
          return;
        }
        done({ exitCode: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}

/** The caller's abort reason when it is ours (timeout, cancel), else a cancellation. */
function toAbortError(signal: AbortSignal, host: string): FleetError {
  const reason: unknown = signal.reason;
  if (isFleetError(reason)) return new FleetError(reason.code, reason.message, { ...reason.details, host });
  return new FleetError('FR_ERR_CANCELLED', 'the deploy step was aborted', { host });
}

/** The arguments every read-only mode of the script takes. */
function inspectArgs(request: InspectRequest, hostDir: string): string[] {
  const prfPath = join(hostDir, request.target.stagingDir, request.campaign, request.fileName);
  return [
    '--campaign',
    request.campaign,
    '--user',
    request.user,
    '--prf',
    prfPath,
    '--office',
    request.office,
    '--root',
    hostDir,
  ];
}

/**
 * The local transport: each host is a directory under `root`, the PRF is staged atomically into
 * `<root>/<host>/<stagingDir>/<campaign>/<fileName>` and the POSIX agent script applies it there.
 */
export function createLocalTransport(options: LocalTransportOptions): Transport {
  const root = resolve(options.root);
  const scriptPath = resolve(options.scriptPath);

  async function runRemote(
    host: string,
    args: readonly string[],
    request: { readonly signal: AbortSignal; readonly timeoutMs?: number },
  ): Promise<TransportOutcome> {
    const started = performance.now();
    const run = await runWithinBudget(request.signal, request.timeoutMs, (signal) =>
      runScript(scriptPath, args, signal, host),
    );
    const result = interpretRemoteRun(run, host);
    return { ...result, durationMs: Math.round(performance.now() - started), stderrTail: tailOf(run.stderr) };
  }

  return {
    kind: 'local',

    async apply(request: ApplyRequest): Promise<TransportOutcome> {
      const { target, artifact, signal } = request;
      if (signal.aborted) throw toAbortError(signal, target.host);
      const hostDir = toHostDir(root, target.host);
      if (options.apply === 'noop') {
        return {
          status: 'applied',
          checksum: artifact.sha256,
          officeVersion: request.office,
          durationMs: 0,
          stderrTail: '',
        };
      }
      const prfPath = join(hostDir, target.stagingDir, request.campaign, artifact.fileName);
      await stageFileAtomically(prfPath, artifact.bytes, artifact.sha256, target.host);
      const args = ['--campaign', request.campaign, '--user', request.user, '--prf', prfPath];
      args.push('--office', request.office, '--checksum', artifact.sha256, '--root', hostDir);
      if (request.stageWhileRunning) args.push('--stage-while-running');
      return runRemote(target.host, args, request);
    },

    async rollback(request: RollbackRequest): Promise<TransportOutcome> {
      const { target, signal } = request;
      if (signal.aborted) throw toAbortError(signal, target.host);
      const hostDir = toHostDir(root, target.host);
      const prfPath = join(hostDir, target.stagingDir, request.campaign, request.fileName);
      if (options.apply === 'noop') {
        return { status: 'rolled-back', officeVersion: request.office, durationMs: 0, stderrTail: '' };
      }
      const args = ['--rollback', '--campaign', request.campaign, '--user', request.user, '--prf', prfPath];
      args.push('--office', request.office, '--root', hostDir);
      return runRemote(target.host, args, request);
    },

    async probe(request: InspectRequest): Promise<ProbeReport> {
      const { target, signal } = request;
      const args = inspectArgs(request, toHostDir(root, target.host));
      const exitTest = await runScript(scriptPath, [...args, '--exit-test'], signal, target.host);
      const run = await runScript(scriptPath, [...args, '--probe'], signal, target.host);
      return { ...interpretProbeRun(run, target.host), exitPassThrough: exitTest.exitCode === 75 };
    },

    async verify(request: VerifyRequest): Promise<VerifyReport> {
      const { target, signal } = request;
      const args = [...inspectArgs(request, toHostDir(root, target.host)), '--verify'];
      if (request.checksum !== undefined) args.push('--checksum', request.checksum);
      if (request.expectProxy !== undefined) args.push('--expect-proxy', request.expectProxy);
      if (request.expectFlags !== undefined) args.push('--expect-flags', request.expectFlags);
      return interpretVerifyRun(await runScript(scriptPath, args, signal, target.host), target.host);
    },

    async close(): Promise<void> {},
  };
}
