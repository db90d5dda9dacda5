import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { LintReport } from '../../profile/index.js';

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
  for (const file of files) {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(file);
    } catch (error) {
      unreadable = true;
      const reason = (error as NodeJS.ErrnoException).code ?? String(error);
      process.stderr.write(`${file}: FR_ERR_FILE_UNREADABLE: file cannot be read (${reason})\n`);
      continue;
    }
    const report = lintPrf(bytes);
    errors ||= hasLintErrors(report);
    process.stdout.write(options.json ? `${JSON.stringify({ file, ...report })}\n` : formatReport(file, report));
  }
  if (unreadable) return 1;
  return errors ? 2 : 0;
}

function formatReport(file: string, report: LintReport): string {
  const counts = { error: 0, warning: 0, info: 0 };
  const lines = [`${file}: encoding ${report.encoding}, line endings ${report.lineEndings}`];
  for (const finding of report.findings) {
    counts[finding.severity]++;
    lines.push(`${file}:${finding.line}: ${finding.severity} ${finding.rule}: ${finding.message}`);
  }
  lines.push(`${file}: ${counts.error} error(s), ${counts.warning} warning(s), ${counts.info} info`);
  return `${lines.join('\n')}\n`;
}
