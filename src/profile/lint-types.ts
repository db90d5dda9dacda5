import type { LineEndings, PrfEncoding } from './decode-prf-bytes.js';
import type { ParsedPrf } from './parse-prf.js';

export type LintSeverity = 'error' | 'warning' | 'info';

export interface LintFinding {
  /** 1-based line number (1 for whole-file findings). */
  readonly line: number;
  readonly severity: LintSeverity;
  /** Stable kebab-case rule name, e.g. `unmapped-key`. */
  readonly rule: string;
  readonly message: string;
}

export interface LintReport {
  readonly encoding: PrfEncoding;
  readonly lineEndings: LineEndings;
  readonly findings: LintFinding[];
}

/** What every rule group gets: the parsed file and a way to report. */
export interface LintContext {
  readonly prf: ParsedPrf;
  report(line: number, severity: LintSeverity, rule: string, message: string): void;
}

/** Template tokens (`{{Name}}`) and environment references (`%mail%`) are filled in later: not checked. */
export function isPlaceholder(value: string): boolean {
  return /\{\{[^}]*\}\}/.test(value) || /^%[^%]+%$/.test(value);
}
