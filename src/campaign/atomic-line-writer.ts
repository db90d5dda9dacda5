import { createWriteStream, type WriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { FleetError } from '../errors/index.js';

/**
 * Appends text to `<path>.tmp-<pid>` with back-pressure and renames it over `path` on commit, so a reader never sees
 * a half-written manifest or report, and a crash leaves the previous version in place.
 */
export class AtomicLineWriter {
  private readonly tmpPath: string;
  private readonly stream: WriteStream;
  private failure: Error | undefined;

  constructor(private readonly path: string) {
    this.tmpPath = `${path}.tmp-${process.pid}`;
    this.stream = createWriteStream(this.tmpPath);
    this.stream.on('error', (error) => {
      this.failure = error;
    });
  }

  async write(text: string): Promise<void> {
    if (this.failure) throw this.toFleetError(this.failure);
    if (!this.stream.write(text)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.stream.off('drain', done);
          this.stream.off('error', done);
          resolve();
        };
        this.stream.on('drain', done);
        this.stream.on('error', done);
      });
      if (this.failure) throw this.toFleetError(this.failure);
    }
  }

  async commit(): Promise<void> {
    await this.close();
    try {
      await rename(this.tmpPath, this.path);
    } catch (error) {
      throw this.toFleetError(error);
    }
  }

  /** Drops the temporary file (on failure). */
  async abort(): Promise<void> {
    await this.close().catch(() => undefined);
    await rm(this.tmpPath, { force: true });
  }

  private async close(): Promise<void> {
    if (!this.stream.closed) {
      await new Promise<void>((resolve, reject) => {
        this.stream.end((error?: Error | null) => (error ? reject(error) : resolve()));
      }).catch((error: unknown) => {
        this.failure ??= error as Error;
      });
    }
    if (this.failure) throw this.toFleetError(this.failure);
  }

  private toFleetError(error: unknown): FleetError {
    const code = (error as NodeJS.ErrnoException).code ?? 'write error';
    return new FleetError('FR_ERR_OUTPUT_UNWRITABLE', `cannot write ${this.path} (${code})`, { file: this.path });
  }
}
