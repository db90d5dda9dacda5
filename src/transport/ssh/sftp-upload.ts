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

/** An SFTP failure that says the path (or its folder) does not exist: the caller may make the folder and try again. */
export function isNoSuchFile(error: unknown): boolean {
  return error instanceof FleetError && error.details['sftpStatus'] === NO_SUCH_FILE;
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

/**
 * Upload `bytes` to `tmp` and, once they read back the same, rename it over `final` (posix-rename@openssh.com:
 * atomic; else remove + rename). The file is opened read+write and read back through the handle that wrote it, so a
 * difference (another writer of the same name, a short write the server did not report) is seen before anything is
 * replaced: an earlier run's `.prf`, which ImportPRF may still name, stays as it was. No process runs on the host.
 * Three round trips: open; the writes with the read-back; close with the rename. OpenSSH's sftp-server (Win32-OpenSSH's
 * too) handles a session's requests one at a time in the order they came (docs/windows-workstations.md [S26]): the
 * read sees the writes, and the rename comes after the close (Windows opens read+write without sharing).
 * On failure the handle is closed and `tmp` left as it is (it never ends in `.prf`; the next attempt truncates it:
 * removing it here could race with that attempt's open of the same name).
 */
export async function uploadAndRename(call: SftpCall, tmp: string, final: string, bytes: Uint8Array): Promise<void> {
  const { sftp } = call;
  const handle = await callSftp<Buffer>(call, 'open', (done) => sftp.open(tmp, 'w+', 0o644, done));
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let verified = false;
  try {
    const chunks = Math.ceil(buffer.length / CHUNK);
    // One byte more is asked for: a longer file shows up as a difference too.
    let readBack: Buffer;
    if (chunks <= WINDOW) {
      // Every write and the read leave in one flight (one Promise.all: a read failing first is still handled).
      const writes = Array.from({ length: chunks }, (_, i) => writeChunk(call, handle, buffer, i * CHUNK));
      [, readBack] = await Promise.all([Promise.all(writes), readHandle(call, handle, buffer.length + 1)]);
    } else {
      await writeWindowed(call, handle, buffer);
      readBack = await readHandle(call, handle, buffer.length + 1);
    }
    verified = readBack.equals(buffer);
  } catch (error) {
    sftp.close(handle, () => undefined);
    throw error;
  }
  const closed = callSftp<void>(call, 'close', (done) => sftp.close(handle, done));
  if (!verified) {
    await closed;
    throw new FleetError('FR_ERR_SSH_CHECKSUM_MISMATCH', `uploaded file checksum does not match on ${call.host}`, {
      host: call.host,
      step: 'verify',
    });
  }
  await Promise.all([closed, renameRemoteFile(call, tmp, final)]);
}

function writeChunk(call: SftpCall, handle: Buffer, buffer: Buffer, offset: number): Promise<void> {
  const length = Math.min(CHUNK, buffer.length - offset);
  return callSftp<void>(call, 'write', (done) => call.sftp.write(handle, buffer, offset, length, offset, done));
}

/** Files of more than WINDOW chunks: WINDOW writes in flight at a time. */
async function writeWindowed(call: SftpCall, handle: Buffer, buffer: Buffer): Promise<void> {
  let next = 0;
  const writeNext = async (): Promise<void> => {
    while (next < buffer.length) {
      const offset = next;
      next += CHUNK;
      await writeChunk(call, handle, buffer, offset);
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, writeNext));
}

/** Up to `length` bytes from the start of an open file (fewer at its end; ssh2 splits what a packet cannot hold). */
function readHandle(call: SftpCall, handle: Buffer, length: number): Promise<Buffer> {
  const target = Buffer.alloc(length);
  return callSftp<Buffer>(call, 'read', (done) =>
    call.sftp.read(handle, target, 0, length, 0, (error, read) => done(error, target.subarray(0, read ?? 0))),
  );
}

/** Atomic replace: posix-rename@openssh.com when offered, else remove + rename. */
async function renameRemoteFile(call: SftpCall, from: string, to: string): Promise<void> {
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
