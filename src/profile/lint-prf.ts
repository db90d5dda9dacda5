import { decodePrfBytes, detectLineEndings } from './decode-prf-bytes.js';
import { bindServices, lintMappings } from './lint-mapping-rules.js';
import { lintExchangeConsistency, lintGeneral, lintRpc } from './lint-profile-rules.js';
import { lintEncoding, lintSyntax } from './lint-syntax-rules.js';
import type { LintContext, LintFinding, LintReport, LintSeverity } from './lint-types.js';
import { parsePrf } from './parse-prf.js';

const SEVERITY_ORDER: Record<LintSeverity, number> = { error: 0, warning: 1, info: 2 };

/**
 * Checks any PRF — ours, hand-written or exported by the Office Customization Tool — for what makes Outlook
 * ignore or misread it. Pure: bytes in, report out. Rule names are listed in docs/prf.md.
 */
export function lintPrf(bytes: Uint8Array): LintReport {
  const decoded = decodePrfBytes(bytes);
  const { endings, firstOddLine } = detectLineEndings(decoded.text);
  const findings: LintFinding[] = [];
  const ctx: LintContext = {
    prf: parsePrf(decoded.text),
    report(line, severity, rule, message) {
      findings.push({ line, severity, rule, message });
    },
  };
  lintEncoding(ctx, decoded, endings, firstOddLine);
  if (ctx.prf.sections.length === 0) {
    // Not a PRF at all (a CSV, an image, an empty file): one error, not a warning per line of someone else's format.
    const fatal = findings.filter((finding) => finding.severity === 'error');
    fatal.unshift({
      line: 1,
      severity: 'error',
      rule: 'not-a-prf',
      message: 'no [section] at all: this is not a PRF (a profile file has [General], [Service List], …)',
    });
    return { encoding: decoded.encoding, lineEndings: endings, findings: fatal };
  }
  lintSyntax(ctx, decoded.text);
  lintGeneral(ctx);
  const bindings = bindServices(ctx);
  lintMappings(ctx, bindings);
  lintRpc(ctx, bindings);
  lintExchangeConsistency(ctx, bindings);
  findings.sort((a, b) => a.line - b.line || SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
  return { encoding: decoded.encoding, lineEndings: endings, findings };
}

export function hasLintErrors(report: LintReport): boolean {
  return report.findings.some((finding) => finding.severity === 'error');
}
