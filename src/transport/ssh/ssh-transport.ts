import { constants as osConstants } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { ApplyAllowList } from '../../config/apply-command-rules.js';
import { FleetError } from '../../errors/index.js';
import { interpretProbeRun, type ProbeReport } from '../../rollout/probe-result.js';
import { interpretRemoteRun, type RemoteRun, tailOf } from '../../rollout/remote-result.js';
import { interpretVerifyRun, type VerifyReport } from '../../rollout/verify-result.js';
import { runWithinBudget } from '../link-signals.js';
import type {
  ApplyRequest,
  DeployTarget,
  InspectRequest,
  RollbackRequest,
  Transport,
  TransportOutcome,
  VerifyRequest,
} from '../transport.js';
import { type AgentScripts, loadAgentScripts, pushAgentScript, scriptMayBeCurrent } from './agent-script.js';
import { type ApplyCommandValues, buildApplyCommand, resolveApplyTemplate } from './apply-command.js';
import { ConnectionPool, type PoolStats } from './connection-pool.js';
import {
  EXIT_TEST_CODE,
  SCRIPT_CHANGED_LINE,
  type ScriptMode,
  scriptBudgetSeconds,
  templateWithMode,
  withScriptCheck,
} from './mode-command.js';
import { DEFAULT_TIMEOUTS, type SshTimeouts, type SshTransportOptions } from './options.js';
import { type RemotePaths, resolveRemotePaths } from './remote-paths.js';
import { ensureRemoteDir, isNoSuchFile, type SftpCall, tryRemoteMkdir, uploadAndRename } from './sftp-upload.js';
import { killedError, type SshConnection } from './ssh-connection.js';

export interface SshTransport extends Transport {
  readonly kind: 'ssh';
  /** Dials and connection reuses so far (tests, benchmark). */
  readonly stats: PoolStats;
}

/** A logon name, a UPN or DOMAIN\\name (one backslash, neither side empty); never `/` or a control character. */
const USER_RE = /^(?:[^\u0000-\u001f\u007f/\\]{1,15}\\)?[^\u0000-\u001f\u007f/\\]{1,104}$/;

/** Validates the request and picks the template this agent allows (before any connection: a refusal runs nothing). */
function checkRequest(target: DeployTarget, user: string, allowList: ApplyAllowList): string | undefined {
  if (!USER_RE.test(user) || user === '.' || user === '..') {
    throw new FleetError('FR_ERR_JOB_PAYLOAD_INVALID', 'invalid user name for a remote command', {
      host: target.host,
    });
  }
  return resolveApplyTemplate(target, allowList);
}

/**
 * The `ssh` transport: SFTP upload to `<staging>/<campaign>/<user>.prf.tmp`, verify, atomic rename, run the
 * apply command, interpret exit code + last JSON line (docs/remote-contract.md). Credentials stay in `options`.
 */
export async function createSshTransport(options: SshTransportOptions): Promise<SshTransport> {
  const { credentials } = options;
  if (!credentials.privateKey && !credentials.agentSocket && credentials.password === undefined) {
    throw new FleetError('FR_ERR_CONFIG_INVALID', 'ssh transport needs a private key, an ssh-agent or a password file');
  }
  const timeouts: SshTimeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
  const allowList: ApplyAllowList = options.applyAllowList ?? new Map();
  const scripts: AgentScripts = await loadAgentScripts(options.agentDir);
  const pool = new ConnectionPool({
    credentials,
    hostKeys: options.hostKeys,
    timeouts,
    perHostConcurrency: options.perHostConcurrency ?? 10,
    maxSessionsPerConnection: options.maxSessionsPerConnection ?? 10,
    reuseConnections: options.reuseConnections ?? true,
    logger: options.logger,
  });

  async function openSftp(conn: SshConnection, target: DeployTarget, signal: AbortSignal): Promise<SftpCall> {
    return { sftp: await conn.sftp(signal), host: target.host, signal, timeoutMs: timeouts.commandMs };
  }

  /** The template with the Windows script's run budget below this transport's command timeout. */
  function boundedTemplate(target: DeployTarget, template: string | undefined): string {
    const budget = { kind: 'budget', seconds: scriptBudgetSeconds(timeouts.commandMs) } as const;
    return templateWithMode(target.targetOs, template, budget);
  }

  /** The bounded template behind a re-check of the pushed script's SHA-256 (a swapped script is never run). */
  function checkedTemplate(target: DeployTarget, template: string | undefined): string {
    return withScriptCheck(target.targetOs, boundedTemplate(target, template), scripts[target.targetOs].sha256);
  }

  const scriptKey = (target: DeployTarget, paths: RemotePaths): string =>
    `script:${paths.script}:${scripts[target.targetOs].sha256}`;

  /** Upload the apply script (once per connection however many users ask at once). */
  function pushScript(conn: SshConnection, call: SftpCall, target: DeployTarget, paths: RemotePaths) {
    const key = scriptKey(target, paths);
    return conn.once(`push:${key}`, async () => {
      await pushAgentScript(call, paths, scripts[target.targetOs]);
      conn.mark(key);
      options.logger?.info({ host: target.host, script: paths.script }, 'apply script pushed');
    });
  }

  /** Once per connection: push the script now when the host surely lacks this version (missing, other size). */
  function ensureScript(conn: SshConnection, call: SftpCall, target: DeployTarget, paths: RemotePaths) {
    return conn.once(`stat:${scriptKey(target, paths)}`, async () => {
      if (!(await scriptMayBeCurrent(call, paths, scripts[target.targetOs]))) {
        await pushScript(conn, call, target, paths);
      }
    });
  }

  /**
   * Run a command that re-checks the script first. A script that fails the check before this connection has seen it
   * pass (or pushed it) is merely stale: push it and run again, as reading it back before every first run would
   * have. After that, a failed check is a script swapped under us: reported as exit 78, never run.
   */
  async function runChecked(
    conn: SshConnection,
    call: SftpCall,
    target: DeployTarget,
    paths: RemotePaths,
    command: string,
    step: string,
  ): Promise<RemoteRun> {
    const key = scriptKey(target, paths);
    const knownGood = conn.marked(key);
    const runOptions = { signal: call.signal, timeoutMs: timeouts.commandMs, step };
    const run = await conn.run(command, runOptions);
    if (lastLine(run.stdout) !== SCRIPT_CHANGED_LINE) {
      conn.mark(key);
      return run;
    }
    if (knownGood) return run;
    await pushScript(conn, call, target, paths);
    return conn.run(command, runOptions);
  }

  /**
   * Upload to the .tmp name, read it back and rename it over the .prf (sftp-upload.ts). The campaign folder is asked
   * for in the same flight as the open (its failure, when the folder exists, is ignored); a missing staging tree is
   * made only when the open still says it is missing.
   */
  async function upload(conn: SshConnection, call: SftpCall, paths: RemotePaths, bytes: Uint8Array) {
    const made = conn.once(
      `mkdir:${paths.campaignDir}`,
      async () => void (await tryRemoteMkdir(call, paths.campaignDir)),
    );
    const mkdir = made.catch(() => undefined);
    try {
      await uploadAndRename(call, paths.prfTmp, paths.prf, bytes);
    } catch (error) {
      if (!isNoSuchFile(error)) throw error;
      await mkdir;
      await ensureRemoteDir(call, paths.campaignDir);
      await uploadAndRename(call, paths.prfTmp, paths.prf, bytes);
    }
  }

  async function runApply(conn: SshConnection, request: ApplyRequest, template?: string): Promise<RemoteRun> {
    const { target, artifact, signal } = request;
    const paths = resolveRemotePaths(target, request.campaign, artifact.fileName);
    const call = await openSftp(conn, target, signal);
    // Independent SFTP requests in flight together: one round-trip chain instead of two. Nothing runs on the host
    // before the verified .prf is in place; the script checks the artifact's SHA-256 again before applying it.
    await Promise.all([ensureScript(conn, call, target, paths), upload(conn, call, paths, artifact.bytes)]);
    const chosen = request.stageWhileRunning
      ? templateWithMode(target.targetOs, template, { kind: 'stage-while-running' })
      : template;
    const values = commandValues(paths, request, artifact.sha256, false);
    const command = buildApplyCommand(target.targetOs, values, checkedTemplate(target, chosen));
    return runChecked(conn, call, target, paths, command, 'apply');
  }

  async function runRollback(conn: SshConnection, request: RollbackRequest, template?: string): Promise<RemoteRun> {
    const { target, signal } = request;
    const paths = resolveRemotePaths(target, request.campaign, request.fileName);
    const call = await openSftp(conn, target, signal);
    await ensureScript(conn, call, target, paths);
    const checked = checkedTemplate(target, template);
    const command = buildApplyCommand(target.targetOs, commandValues(paths, request, '', true), checked);
    return runChecked(conn, call, target, paths, command, 'rollback');
  }

  /** One read-only run of the script in `mode` (probe, exit-test, verify): no upload, nothing changed remotely. */
  async function runMode(
    conn: SshConnection,
    request: InspectRequest,
    mode: ScriptMode,
    checksum = '',
  ): Promise<RemoteRun> {
    const { target, signal } = request;
    const paths = resolveRemotePaths(target, request.campaign, request.fileName);
    const call = await openSftp(conn, target, signal);
    await ensureScript(conn, call, target, paths);
    const allowed = resolveApplyTemplate(target, allowList);
    const template = checkedTemplate(target, templateWithMode(target.targetOs, allowed, mode));
    const command = buildApplyCommand(target.targetOs, commandValues(paths, request, checksum, false), template);
    return runChecked(conn, call, target, paths, command, mode.kind);
  }

  /** Probe: exit-code pass-through first (does `exit 75` come back as 75?), then the script's read-only report. */
  async function probe(request: InspectRequest): Promise<ProbeReport> {
    checkRequest(request.target, request.user, allowList);
    return pool.withConnection(request.target, request.signal, async (conn) => {
      const exitTest = await runMode(conn, request, { kind: 'exit-test' });
      const run = await runMode(conn, request, { kind: 'probe' });
      return { ...interpretProbeRun(run, request.target.host), exitPassThrough: exitTest.exitCode === EXIT_TEST_CODE };
    });
  }

  async function verify(request: VerifyRequest): Promise<VerifyReport> {
    checkRequest(request.target, request.user, allowList);
    const mode: ScriptMode = {
      kind: 'verify',
      ...(request.expectProxy !== undefined && { expectProxy: request.expectProxy }),
      ...(request.expectFlags !== undefined && { expectFlags: request.expectFlags }),
    };
    const run = await pool.withConnection(request.target, request.signal, (c) =>
      runMode(c, request, mode, request.checksum ?? ''),
    );
    return interpretVerifyRun(run, request.target.host);
  }

  async function execute<R extends ApplyRequest | RollbackRequest>(
    request: R,
    step: (conn: SshConnection, request: R, template: string | undefined) => Promise<RemoteRun>,
  ): Promise<TransportOutcome> {
    const { target } = request;
    const template = checkRequest(target, request.user, allowList);
    const started = performance.now();
    // The budget starts once the host's slot is held: queueing behind a busy host is not the step's time.
    const run = await pool.withConnection(
      target,
      request.signal,
      (conn) =>
        runWithinBudget(request.signal, request.timeoutMs, (signal) => step(conn, { ...request, signal }, template)),
      request.beforeConnect,
    );
    // sh reports a child killed by signal N as status 128+N (the stand-in and POSIX hosts run under sh).
    if (target.targetOs === 'posix' && run.exitCode > 128 && run.exitCode <= 128 + 64) {
      throw killedError(target.host, 'apply', signalName(run.exitCode - 128), run.stderr);
    }
    const result = interpretRemoteRun(run, target.host);
    return { ...result, durationMs: Math.round(performance.now() - started), stderrTail: tailOf(run.stderr) };
  }

  return {
    kind: 'ssh',
    stats: pool.stats,
    prepare(target, user, beforeConnect) {
      try {
        checkRequest(target, user, allowList);
      } catch {
        return; // refused: nothing is dialled, the step reports it
      }
      pool.warm(target, beforeConnect);
    },
    apply: (request) => execute(request, runApply),
    rollback: (request) => execute(request, runRollback),
    probe,
    verify,
    close: () => pool.close(),
  };
}

/** `9` → `SIGKILL` (the number when Node does not know it). */
function signalName(number: number): string {
  const found = Object.entries(osConstants.signals).find(([, value]) => value === number);
  return found ? found[0] : `signal ${number}`;
}

/** The last non-empty line of a command's output. */
function lastLine(stdout: string): string {
  const trimmed = stdout.trimEnd();
  return trimmed.slice(trimmed.lastIndexOf('\n') + 1).trim();
}

/** The validated values an apply-command template may use (apply and rollback differ only in checksum and flag). */
function commandValues(
  paths: RemotePaths,
  request: { readonly user: string; readonly office: string; readonly campaign: string },
  checksum: string,
  rollback: boolean,
): ApplyCommandValues {
  return {
    script: paths.nativeScript,
    prf: paths.nativePrf,
    user: request.user,
    office: request.office,
    campaign: request.campaign,
    checksum,
    rollback,
  };
}
