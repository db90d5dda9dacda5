import type { NodeSSH } from 'node-ssh';
import type { Client, ClientChannel, SFTPWrapper } from 'ssh2';
import { FleetError } from '../../errors/index.js';
import type { RemoteRun } from '../../rollout/remote-result.js';
import { classifyChannelError } from './classify-error.js';
import { abortError, raceAbort, Semaphore } from './semaphore.js';

/** Output beyond this is dropped from the front (the contract only needs the last line and a tail). */
const MAX_OUTPUT_CHARS = 64 * 1024;
/**
 * node-ssh's execCommand keeps every chunk of output until the command ends, so a workstation printing without end
 * would fill the agent's memory: past this much output, the command is stopped (the workstation is not trusted).
 */
export const MAX_OUTPUT_TOTAL_CHARS = 16 * 1024 * 1024;

export interface RunOptions {
  readonly signal: AbortSignal;
  readonly timeoutMs: number;
  /** Names the step in errors (never the command: it holds paths and user names only, but stays out anyway). */
  readonly step: string;
}

/**
 * The remote process ended on a signal (sshd's exit-signal, or a shell's 128+N status): an operator, the OOM killer,
 * a reboot or a logoff killed it. Nothing says the profile is wrong: transient.
 */
export function killedError(host: string, step: string, signalName: string, stderr: string): FleetError {
  const name = signalName.startsWith('SIG') ? signalName : `SIG${signalName}`;
  return new FleetError('FR_ERR_REMOTE_KILLED', `${step} on ${host} was killed by ${name}`, {
    host,
    step,
    signal: name,
    stderrTail: stderr.slice(-2048),
  });
}

function keepTail(text: string): string {
  return text.length > MAX_OUTPUT_CHARS ? text.slice(text.length - MAX_OUTPUT_CHARS) : text;
}

/**
 * One authenticated SSH connection (node-ssh) shared by every user deployed on that host. Channels are capped
 * (sshd MaxSessions); the SFTP session is opened once and kept; per-connection memos avoid re-checking the
 * staging folder and the agent script for each user. `client` is node-ssh's raw ssh2 connection, used for its
 * events only (node-ssh forgets it on close; we keep listening).
 */
export class SshConnection {
  broken = false;
  leases = 0;
  readonly client: Client;
  private sftpSession: Promise<SFTPWrapper> | undefined;
  private readonly channels: Semaphore;
  private readonly memos = new Map<string, Promise<void>>();
  private readonly marks = new Set<string>();

  constructor(
    readonly ssh: NodeSSH,
    readonly host: string,
    maxSessions: number,
  ) {
    const client = ssh.connection;
    if (!client) throw new FleetError('FR_ERR_SSH_CONNECTION_RESET', `connection to ${host} closed`, { host });
    this.client = client;
    this.channels = new Semaphore(maxSessions);
    const markBroken = (): void => {
      this.broken = true;
    };
    // An 'error' without a listener would crash the process; the connection is just dropped.
    client.on('error', markBroken);
    client.on('close', markBroken);
    client.on('end', markBroken);
  }

  /** Facts learnt on this connection (the script passed its check here). */
  mark(key: string): void {
    this.marks.add(key);
  }

  marked(key: string): boolean {
    return this.marks.has(key);
  }

  /** Run `work` once per connection for `key` (concurrent callers share it; a failure is not remembered). */
  once(key: string, work: () => Promise<void>): Promise<void> {
    let memo = this.memos.get(key);
    if (!memo) {
      memo = work().catch((error: unknown) => {
        this.memos.delete(key);
        throw error;
      });
      this.memos.set(key, memo);
    }
    return memo;
  }

  sftp(signal: AbortSignal): Promise<SFTPWrapper> {
    if (!this.sftpSession) {
      // Shared by every user on the connection: one caller's abort must not fail the others' session.
      const session = this.openSftp();
      this.sftpSession = session;
      session.catch(() => {
        if (this.sftpSession === session) this.sftpSession = undefined;
      });
    }
    return raceAbort(this.sftpSession, signal, this.host);
  }

  private async openSftp(): Promise<SFTPWrapper> {
    await this.channels.acquire();
    let sftp: SFTPWrapper;
    try {
      sftp = await this.ssh.requestSFTP();
    } catch (error) {
      if (!this.ssh.isConnected()) this.broken = true;
      this.channels.release();
      throw classifyChannelError(error, this.host, 'sftp');
    }
    sftp.on('close', () => {
      this.sftpSession = undefined;
      this.channels.release();
    });
    sftp.on('error', () => undefined);
    return sftp;
  }

  /** exec one command; resolves with its exit code and output, rejects on timeout/abort/broken connection. */
  async run(command: string, options: RunOptions): Promise<RemoteRun> {
    const { signal, timeoutMs, step } = options;
    await this.channels.acquire(signal);
    return new Promise<RemoteRun>((resolve, reject) => {
      let settled = false;
      let channel: ClientChannel | undefined;
      let released = false;
      let stdout = '';
      let stderr = '';
      let exitCode: number | undefined;
      let killedBy: string | undefined;
      const releaseChannel = (): void => {
        if (!released) {
          released = true;
          this.channels.release();
        }
      };
      const settle = (error: FleetError | undefined, run?: RemoteRun): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.client.removeListener('close', onConnectionLost);
        if (error) reject(error);
        else if (run) resolve(run);
      };
      const stop = (error: FleetError): void => {
        // Kill the remote command, then close the channel; the connection stays for other users.
        if (channel) {
          try {
            channel.signal('KILL');
          } catch {
            // the server may refuse signals; closing the channel is enough
          }
          channel.close();
        }
        settle(error);
      };
      const onAbort = (): void => stop(abortError(signal, this.host));
      // Belt and braces: a connection that dies mid-command must not leave the step waiting for its timeout.
      const onConnectionLost = (): void => settle(classifyChannelError(undefined, this.host, step));
      this.client.once('close', onConnectionLost);
      const timer = setTimeout(() => {
        stop(
          new FleetError('FR_ERR_TRANSPORT_TIMEOUT', `${step} on ${this.host} took longer than ${timeoutMs} ms`, {
            host: this.host,
            step,
          }),
        );
      }, timeoutMs);
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) onAbort();

      let total = 0;
      const onOutput = (chunk: unknown): void => {
        total += String(chunk).length;
        if (total > MAX_OUTPUT_TOTAL_CHARS) {
          const message = `${step} on ${this.host} printed more than ${MAX_OUTPUT_TOTAL_CHARS / 1024 / 1024} MiB`;
          stop(new FleetError('FR_ERR_REMOTE_PROTOCOL', message, { host: this.host, step }));
        }
      };
      this.ssh
        .execCommand(command, {
          noTrim: true,
          onChannel: (opened) => {
            channel = opened;
            if (settled) opened.close();
            // node-ssh decodes each chunk on its own, so a UTF-8 character cut between two packets would turn into
            // U+FFFD: decoding on the channel keeps it whole (test/integration/node-ssh-defects.test.ts).
            opened.setEncoding('utf8');
            opened.stderr.setEncoding('utf8');
            opened.on('data', (chunk: string) => {
              stdout = keepTail(stdout + chunk);
            });
            opened.stderr.on('data', (chunk: string) => {
              stderr = keepTail(stderr + chunk);
            });
            opened.on('exit', (code: number | null, signalName?: string) => {
              exitCode = typeof code === 'number' ? code : -1;
              if (typeof code !== 'number' && typeof signalName === 'string') killedBy = signalName;
            });
            opened.on('close', releaseChannel);
          },
          onStdout: onOutput,
          onStderr: onOutput,
        })
        .then(
          () => {
            releaseChannel();
            if (killedBy !== undefined) settle(killedError(this.host, step, killedBy, stderr));
            else if (exitCode === undefined) settle(classifyChannelError(undefined, this.host, step));
            else settle(undefined, { exitCode, stdout, stderr });
          },
          (error: unknown) => {
            // The channel could not be opened (refused, or the connection is gone: node-ssh says "Not connected").
            if (!this.ssh.isConnected()) this.broken = true;
            releaseChannel();
            settle(classifyChannelError(error, this.host, step));
          },
        );
    });
  }

  end(): void {
    this.broken = true;
    this.ssh.dispose();
    this.client.end();
  }
}
