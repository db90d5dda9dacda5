import type { DecodedPrf, LineEndings } from './decode-prf-bytes.js';
import { isPlaceholder, type LintContext } from './lint-types.js';

/** Encoding and line-ending notes (reference/prf-format.md §7.5 and the real-files addendum). */
export function lintEncoding(ctx: LintContext, decoded: DecodedPrf, endings: LineEndings, oddLine?: number): void {
  if (decoded.bigEndian) {
    ctx.report(1, 'error', 'encoding', 'UTF-16 big-endian: Outlook and the Office Customization Tool use UTF-16LE');
  } else if (decoded.encoding === 'utf-16le-bom') {
    ctx.report(
      1,
      'info',
      'encoding',
      'UTF-16LE with BOM, as the Office Customization Tool writes it (untested on Outlook 2003)',
    );
  } else if (decoded.encoding === 'utf-8-bom') {
    ctx.report(
      1,
      'warning',
      'bom',
      'UTF-8 with BOM: read by Outlook 16.0, but reported to spoil the first section on older versions',
    );
  } else if (decoded.encoding === 'utf-8') {
    ctx.report(1, 'warning', 'encoding', 'UTF-8 without BOM and non-ASCII text: Outlook reads such a file as ANSI');
  } else if (/[^\x00-\x7f]/.test(decoded.text)) {
    ctx.report(
      1,
      'info',
      'encoding',
      'ANSI with non-ASCII text, shown as Windows-1252: the workstation must use the same code page',
    );
  }
  if (decoded.hasNul) ctx.report(1, 'error', 'nul-bytes', 'NUL characters: UTF-16 without a BOM, or a binary file');
  if (endings === 'lf') {
    ctx.report(oddLine ?? 1, 'warning', 'line-endings', 'bare LF line endings; Windows tools write CRLF');
  } else if (endings === 'mixed') {
    ctx.report(oddLine ?? 1, 'warning', 'line-endings', 'mixed line endings (CRLF and LF or lone CR)');
  }
}

/** Lines the reader skips or misreads, duplicates, and values that could turn into keys or sections. */
export function lintSyntax(ctx: LintContext, text: string): void {
  const { prf } = ctx;
  for (const odd of prf.oddLines) {
    const shown = odd.text.trim().slice(0, 60);
    if (odd.kind === 'unclosed-section') {
      ctx.report(odd.line, 'error', 'section-syntax', `section header without a closing bracket: ${shown}`);
    } else if (isPlaceholder(odd.text)) {
      ctx.report(
        odd.line,
        'info',
        'template-placeholder',
        `template placeholder, to be replaced before import: ${shown}`,
      );
    } else if (odd.kind === 'key-outside-section') {
      ctx.report(odd.line, 'warning', 'key-outside-section', `key before any section is ignored: ${shown}`);
    } else {
      ctx.report(odd.line, 'warning', 'not-a-key', `neither a section, a key nor a comment (ignored): ${shown}`);
    }
  }
  lintLoneCr(ctx, text);
  const seenSections = new Map<string, number>();
  for (const section of prf.sections) {
    const lower = section.name.toLowerCase();
    const first = seenSections.get(lower);
    if (first !== undefined) {
      ctx.report(section.line, 'warning', 'duplicate-section', `[${section.name}] already opened on line ${first}`);
    } else {
      seenSections.set(lower, section.line);
    }
    if (section.trailing !== '') {
      ctx.report(section.line, 'warning', 'section-syntax', `text after the closing bracket of [${section.name}]`);
    }
    const seenKeys = new Map<string, { line: number; value: string }>();
    for (const entry of section.entries) {
      const key = entry.key.toLowerCase();
      const firstKey = seenKeys.get(key);
      if (firstKey === undefined) {
        seenKeys.set(key, { line: entry.line, value: entry.value });
      } else if (firstKey.value === entry.value) {
        // OCT's own section 7 repeats a few identical mapping lines: harmless.
        ctx.report(
          entry.line,
          'info',
          'duplicate-key',
          `${entry.key} repeats line ${firstKey.line} with the same value`,
        );
      } else {
        ctx.report(
          entry.line,
          'warning',
          'duplicate-key',
          `${entry.key} already set on line ${firstKey.line}; the first one wins`,
        );
      }
      lintValueChars(ctx, entry.line, entry.key, entry.value);
    }
  }
}

const BREAKING_CHAR = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x85\u2028\u2029]/;

function lintValueChars(ctx: LintContext, line: number, key: string, value: string): void {
  if (key === '') ctx.report(line, 'error', 'key-syntax', 'line starts with "=": empty key name');
  if (BREAKING_CHAR.test(value) || BREAKING_CHAR.test(key)) {
    ctx.report(
      line,
      'error',
      'value-control-char',
      `${key} holds a control character some readers take as a line break`,
    );
  } else if (value.includes('\t')) {
    ctx.report(line, 'warning', 'value-control-char', `${key} holds a TAB character`);
  }
  if (/^\[[^\]]*\]/.test(value)) {
    ctx.report(line, 'warning', 'value-looks-like-section', `${key}'s value looks like a section header`);
  }
}

/** A CR not followed by LF is a line break for our reader and possibly not for Outlook's: keys may shift. */
function lintLoneCr(ctx: LintContext, text: string): void {
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 10) line++;
    else if (code === 13) {
      if (text.charCodeAt(i + 1) === 10) {
        line++;
        i++;
      } else {
        ctx.report(line, 'error', 'lone-cr', 'a CR without LF: readers disagree on whether it ends the line');
        line++;
      }
    }
  }
}
