/**
 * INI-style PRF reader, the way Windows' profile API reads it: `[Section]` headers, `Key=Value` split at the
 * first `=`, key and value trimmed, `;` comments, case-insensitive names. Everything is kept in file order with
 * 1-based line numbers, so the linter can point at lines and tests can compare settings.
 */
export interface PrfEntry {
  readonly key: string;
  readonly value: string;
  readonly line: number;
}

export interface PrfSection {
  /** As written between the brackets (trimmed). */
  readonly name: string;
  readonly line: number;
  readonly entries: PrfEntry[];
  /** Text after the closing bracket (normally empty). */
  readonly trailing: string;
}

export type PrfOddLineKind = 'key-outside-section' | 'no-equals' | 'unclosed-section';

export interface PrfOddLine {
  readonly line: number;
  readonly text: string;
  readonly kind: PrfOddLineKind;
}

export interface ParsedPrf {
  readonly sections: PrfSection[];
  /** Lines that are neither blank, comment, section header nor key in a section. */
  readonly oddLines: PrfOddLine[];
  readonly lineCount: number;
}

/** Splits on CRLF, LF or a lone CR (a lone CR is a line break to some readers: treat it as one). */
const LINE_BREAK = /\r\n|\n|\r/;

export function parsePrf(text: string): ParsedPrf {
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const lines = source.split(LINE_BREAK);
  const sections: PrfSection[] = [];
  const oddLines: PrfOddLine[] = [];
  let current: PrfSection | undefined;
  for (let index = 0; index < lines.length; index++) {
    const raw = lines[index] ?? '';
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith(';')) continue;
    if (trimmed.startsWith('[')) {
      const close = trimmed.indexOf(']');
      if (close < 0) {
        oddLines.push({ line, text: raw, kind: 'unclosed-section' });
        continue;
      }
      current = { name: trimmed.slice(1, close).trim(), line, entries: [], trailing: trimmed.slice(close + 1).trim() };
      sections.push(current);
      continue;
    }
    const equals = trimmed.indexOf('=');
    if (equals < 0) {
      oddLines.push({ line, text: raw, kind: 'no-equals' });
      continue;
    }
    if (!current) {
      oddLines.push({ line, text: raw, kind: 'key-outside-section' });
      continue;
    }
    current.entries.push({ key: trimmed.slice(0, equals).trim(), value: trimmed.slice(equals + 1).trim(), line });
  }
  // A final line break does not start a line of its own.
  const lineCount = lines.length > 1 && lines[lines.length - 1] === '' ? lines.length - 1 : lines.length;
  return { sections, oddLines, lineCount };
}

/** First section with that name (case-insensitive), as Windows' reader picks it. */
export function findSection(prf: ParsedPrf, name: string): PrfSection | undefined {
  const wanted = name.toLowerCase();
  return prf.sections.find((section) => section.name.toLowerCase() === wanted);
}

/** First entry with that key (case-insensitive). */
export function findEntry(section: PrfSection | undefined, key: string): PrfEntry | undefined {
  if (!section) return undefined;
  const wanted = key.toLowerCase();
  return section.entries.find((entry) => entry.key.toLowerCase() === wanted);
}

export function readValue(prf: ParsedPrf, section: string, key: string): string | undefined {
  return findEntry(findSection(prf, section), key)?.value;
}
