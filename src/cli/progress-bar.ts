/**
 * A one-line progress bar on stderr, drawn only when stderr is a TTY (never in pipes, logs or CI) and only once
 * the work has lasted long enough to be worth watching. Reusable by `status --watch`.
 */
export interface ProgressBar {
  /** `done` out of `total` (same unit), with an optional short text after the bar. */
  update(done: number, text?: string): void;
  /** Clears the line. */
  finish(): void;
}

export interface ProgressBarOptions {
  readonly total: number;
  readonly label: string;
  readonly stream?: NodeJS.WriteStream;
  /** Do not draw before this many milliseconds (small jobs finish without a bar). */
  readonly delayMs?: number;
  readonly width?: number;
}

const REDRAW_EVERY_MS = 100;

export function createProgressBar(options: ProgressBarOptions): ProgressBar {
  const stream = options.stream ?? process.stderr;
  const startedAt = Date.now();
  const delayMs = options.delayMs ?? 300;
  const width = options.width ?? 30;
  let lastDraw = 0;
  let drawn = false;
  if (!stream.isTTY) return { update: () => undefined, finish: () => undefined };
  return {
    update(done, text = '') {
      const now = Date.now();
      if (now - startedAt < delayMs || now - lastDraw < REDRAW_EVERY_MS) return;
      lastDraw = now;
      const ratio = options.total > 0 ? Math.min(1, done / options.total) : 0;
      const filled = Math.round(ratio * width);
      const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
      stream.write(`\r${options.label} ${bar} ${String(Math.floor(ratio * 100)).padStart(3)}% ${text}\x1b[K`);
      drawn = true;
    },
    finish() {
      if (drawn) stream.write('\r\x1b[K');
    },
  };
}
