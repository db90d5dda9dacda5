import { createHash } from 'node:crypto';
import type { SFTPWrapper } from 'ssh2';
import { FleetError } from '../../errors/index.js';
import { abortError } from './semaphore.js';

const CHUNK = 32 * 1024;
/** Writes in flight at once (SFTP pipelines requests; one at a time would cost a round trip per chunk). */
const WINDOW = 8;
const NO_SUCH_FILE = 2;
const PERMISSION_DENIED = 3;

interface SftpCall {
  readonly sftp: SFTPWrapper;
  readonly host: string;
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
}

function uploadError(host: string, step: string, error: unknown): FleetError {
  if (error instanceof FleetError) return error;
  const code = (error as { code?: unknown } | undefined)?.code;
  if (code === PERMISSION_DENIED) {
    // A staging folder the deploy account may not write is a setup problem: retrying for 72 h will not fix it.
    return new FleetError('FR_ERR_REMOTE_PERMISSION', `sftp ${step} permission denied on ${host}`, {
      host,
      step,
      sftpStatus: code,
    });
  }
  return new FleetError('FR_ERR_SSH_UPLOAD_FAILED', `sftp ${step} failed on ${host}`, {
    host,
    step,
    sftpStatus: typeof code === 'number' || typeof code === 'string' ? code : undefined,
  });
}

/** Promise around one SFTP callback call, cut short by abort or timeout. */
function callSftp<T>(call: SftpCall, step: string, start: (done: (error: unknown, value?: T) => void) => void) {
  const { host, signal, timeoutMs } = call;
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (error: unknown, value?: T): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if (error) reject(uploadError(host, step, error));
      else resolve(value as T);
    };
    const onAbort = (): void => finish(abortError(signal, host));
    const timer = setTimeout(
      () => finish(new FleetError('FR_ERR_TRANSPORT_TIMEOUT', `sftp ${step} on ${host} timed out`, { host, step })),
      timeoutMs,
    );
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    else {
      try {
        start(finish);
      } catch (error) {
        // ssh2 throws synchronously when the channel is already gone.
        finish(error);
      }
    }
  });
}

/** mkdir -p over SFTP (works the same on Windows OpenSSH). */
export async function ensureRemoteDir(call: SftpCall, dir: string): Promise<void> {
  const found = await callSftp<'dir' | 'other' | 'none'>(call, 'stat', (done) =>
    call.sftp.stat(dir, (error, stats) => {
      if (!error) done(undefined, stats.isDirectory() ? 'dir' : 'other');
      else if ((error as { code?: unknown }).code === NO_SUCH_FILE) done(undefined, 'none');
      else done(error);
    }),
  );
  if (found === 'dir') return;
  if (found === 'other') {
    // A file where the staging folder should be: no retry for days will make it a folder.
    throw new FleetError('FR_ERR_REMOTE_STAGING_NOT_DIR', `${dir} on ${call.host} exists but is not a directory`, {
      host: call.host,
      step: 'mkdir',
    });
  }
  const parent = dir.slice(0, dir.lastIndexOf('/'));
  if (parent !== '' && !/^\/[A-Za-z]:$/.test(parent)) await ensureRemoteDir(call, parent);
  await callSftp<void>(call, 'mkdir', (done) =>
    call.sftp.mkdir(dir, (error) => {
      // A concurrent agent may have made it meanwhile.
      if (!error) done(undefined);
      else call.sftp.stat(dir, (statError) => done(statError ? error : undefined));
    }),
  );
}

/** Size of a remote file, or undefined when there is none (one SFTP round trip; symlinks followed). */
export async function remoteFileSize(call: SftpCall, path: string): Promise<number | undefined> {
  return callSftp<number | undefined>(call, 'stat', (done) =>
    call.sftp.stat(path, (error, stats) => {
      if (!error) done(undefined, stats.isFile() ? stats.size : undefined);
      else if ((error as { code?: unknown }).code === NO_SUCH_FILE) done(undefined, undefined);
      else done(error);
    }),
  );
}

/**
 * One mkdir, whose failure (the folder exists, or its parent does not) is the caller's cue, not an error: sent
 * alongside the first open of a file in it, it makes the usual case (new campaign folder) one round trip.
 */
export function tryRemoteMkdir(call: SftpCall, dir: string): Promise<boolean> {
  return callSftp<boolean>(call, 'mkdir', (done) => call.sftp.mkdir(dir, (error) => done(undefined, !error)));
}

/** Write `bytes` to `path` (created/truncated), chunked and pipelined; on failure the handle is closed. */
export async function writeRemoteFile(call: SftpCall, path: string, bytes: Uint8Array): Promise<void> {
  const { sftp } = call;
  const handle = await callSftp<Buffer>(call, 'open', (done) => sftp.open(path, 'w', 0o644, done));
  try {
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let next = 0;
    const writeNext = async (): Promise<void> => {
      while (next < buffer.length) {
        const offset = next;
        next += CHUNK;
        const length = Math.min(CHUNK, buffer.length - offset);
        await callSftp<void>(call, 'write', (done) => sftp.write(handle, buffer, offset, length, offset, done));
      }
    };
    await Promise.all(Array.from({ length: Math.min(WINDOW, Math.ceil(buffer.length / CHUNK) || 1) }, writeNext));
    await callSftp<void>(call, 'close', (done) => sftp.close(handle, done));
  } catch (error) {
    // Close only. Removing the file here could race with the next attempt's open of the same name (the unlink would
    // land after it and orphan that upload); the temp name never ends in .prf and the next attempt truncates it.
    sftp.close(handle, () => undefined);
    throw error;
  }
}

/** SHA-256 of a remote file read back over SFTP (Windows: no shell round trip through PowerShell). */
export async function hashRemoteFile(call: SftpCall, path: string): Promise<string | undefined> {
  const data = await callSftp<Buffer | undefined>(call, 'read', (done) =>
    call.sftp.readFile(path, (error, content) => {
      if (error && (error as { code?: unknown }).code === NO_SUCH_FILE) done(undefined, undefined);
      else done(error, content);
    }),
  );
  return data ? createHash('sha256').update(data).digest('hex') : undefined;
}

/** Atomic replace: posix-rename@openssh.com when offered, else remove + rename. */
export async function renameRemoteFile(call: SftpCall, from: string, to: string): Promise<void> {
  const { sftp } = call;
  await callSftp<void>(call, 'rename', (done) => {
    try {
      sftp.ext_openssh_rename(from, to, done);
    } catch {
      sftp.unlink(to, () => sftp.rename(from, to, done));
    }
  });
}

export type { SftpCall };
