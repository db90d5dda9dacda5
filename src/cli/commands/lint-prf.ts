import { open } from 'node:fs/promises';
import type { Command } from 'commander';
import { describeValue } from '../../csv/text-rules.js';
import type { LintReport } from '../../profile/index.js';

/**
 * Largest file lint-prf reads. Real PRFs are 2–20 KB (the OCT's biggest, with every section, stays under 64 KB);
 * a file of megabytes is not a PRF, and reading one whole would cost several times its size in memory.
 */
export const MAX_PRF_BYTES = 1024 * 1024;

/** Reads at most MAX_PRF_BYTES (+1 to tell a larger file), from the open file itself (no stat/read race). */
async function readBoundedFile(path: string): Promise<Uint8Array | 'too-large'> {
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    if (size > MAX_PRF_BYTES) return 'too-large';
    const buffer = Buffer.alloc(MAX_PRF_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > MAX_PRF_BYTES) return 'too-large';
    }
    return buffer.subarray(0, length);
  } finally {
    await handle.close();
  }
}

/** Printable form of text that comes from a file or the command line (control characters and escapes shown as \x1b…). */
const printable = (text: string): string => describeValue(text, 400);

interface LintPrfOptions {
  readonly json?: boolean;
}

/** `fleet-rollout lint-prf <file.prf>...` — exit 0 clean (warnings allowed), 2 errors found, 1 a file unreadable. */
export function registerLintPrf(program: Command): void {
  program
    .command('lint-prf')
    .description(
      'check PRF files (ours, hand-written or OCT-exported): encoding, line endings, unmapped keys, mapping types and tags, RPC over HTTP flags, proxy and principal',
    )
    .argument('<files...>', 'PRF files to check')
    .option('--json', 'print one JSON report per file instead of text lines')
    .action(async (files: string[], options: LintPrfOptions) => {
      process.exitCode = await lintFiles(files, options);
    });
}

async function lintFiles(files: readonly string[], options: LintPrfOptions): Promise<number> {
  const { hasLintErrors, lintPrf } = await import('../../profile/index.js');
  let unreadable = false;
  let errors = false;
  const total = { errors: 0, warnings: 0 };
  for (const file of files) {
    let bytes: Uint8Array | 'too-large';
    try {
      bytes = await readBoundedFile(file);
    } catch (error) {
      unreadable = true;
      total.errors++;
      const reason = (error as NodeJS.ErrnoException).code ?? String(error);
      process.stderr.write(`${printable(file)}: FR_ERR_FILE_UNREADABLE: file cannot be read (${reason})\n`);
      continue;
    }
    if (bytes === 'too-large') {
      unreadable = true;
      total.errors++;
      process.stderr.write(
        `${printable(file)}: FR_ERR_INPUT_TOO_LARGE: larger than ${MAX_PRF_BYTES / 1024 / 1024} MiB, far larger than any PRF (a few KB): not read\n`,
      );
      continue;
    }
    const report = lintPrf(bytes);
    errors ||= hasLintErrors(report);
    for (const finding of report.findings) {
      if (finding.severity === 'error') total.errors++;
      else if (finding.severity === 'warning') total.warnings++;
    }
    process.stdout.write(options.json ? `${JSON.stringify({ file, ...report })}\n` : formatReport(file, report));
  }
  // The last line sums up every file (an unreadable one counts as an error); --json keeps one report per line.
  if (!options.json) process.stdout.write(`${formatTotals(files.length, total.errors, total.warnings)}\n`);
  if (unreadable) return 1;
  return errors ? 2 : 0;
}

function formatReport(file: string, report: LintReport): string {
  const counts = { error: 0, warning: 0, info: 0 };
  const name = printable(file);
  const lines = [`${name}: encoding ${report.encoding}, line endings ${report.lineEndings}`];
  for (const finding of report.findings) {
    counts[finding.severity]++;
    // Messages quote the file's own text: a PRF must not be able to drive the admin's terminal.
    lines.push(`${name}:${finding.line}: ${finding.severity} ${finding.rule}: ${printable(finding.message)}`);
  }
  lines.push(`${name}: ${counts.error} error(s), ${counts.warning} warning(s), ${counts.info} info`);
  return `${lines.join('\n')}\n`;
}

/** `3 files, 1 error, 4 warnings` */
export function formatTotals(files: number, errors: number, warnings: number): string {
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  return `${plural(files, 'file')}, ${plural(errors, 'error')}, ${plural(warnings, 'warning')}`;
}
