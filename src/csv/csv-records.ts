import { CsvError } from 'csv-parse';
import { parse } from 'csv-parse/sync';

/**
 * Streaming CSV records (pure): csv-parse tokenises every record that holds a quote; a line with no quote at all
 * is split on the delimiter directly. That bypass is the documented workaround for csv-parse's throughput (measured
 * here: ≈ 90k rows per CPU-second alone on the bench roster, where reading must stay near 200k with validation);
 * RFC 4180 gives a quote-free line no other reading, and `test/unit/csv-records.test.ts` checks both paths against
 * csv-parse on whole files. Line numbers are ours, counted from the text (csv-parse's `info.lines` counts a quoted
 * CRLF as two lines: reproduced in `test/unit/csv-parse-defects.test.ts`), and the record delimiters are given
 * (`\r\n` and `\n`: csv-parse's auto-detection fails on files that mix them). csv-parse options: `relax_quotes`
 * (a stray quote inside an unquoted field is a character) and `relax_column_count` (a ragged row is the row rules'
 * business, not a parse error).
 */
export interface CsvRecord {
  readonly kind: 'record';
  readonly fields: string[];
  /** Physical line where the record starts (the first line of the text is `firstLine`). */
  readonly line: number;
  /** Physical lines the record spans (1 + line breaks inside quoted fields). */
  readonly lines: number;
}

/**
 * A quote opened on `line` is unbalanced: csv-parse would read everything from there to `lastLine` as one field,
 * up to the end of the file (`end-of-file`), as far as `maxRecordChars` let us look (`limit`), or up to a later
 * quote that left a record with the wrong number of fields (`closed-later`). Only that line is given up: reading goes
 * on with the next line, so no row after it is lost.
 */
export interface UnclosedQuote {
  readonly kind: 'unclosed-quote';
  readonly line: number;
  readonly lastLine: number;
  /** The text of the line that opened the quote (without its line break). */
  readonly text: string;
  readonly swallowed: 'end-of-file' | 'limit' | 'closed-later';
  /** For `closed-later`: the fields of the record csv-parse read from `line` to `lastLine`. */
  readonly fields?: number;
}

/** A line longer than `maxRecordChars` with no line break in sight: not a roster (a binary file?). */
export interface LineTooLong {
  readonly kind: 'line-too-long';
  readonly line: number;
}

export type CsvItem = CsvRecord | UnclosedQuote | LineTooLong;

export interface CsvRecordOptions {
  readonly delimiter: string;
  /** Line number of the first line of the text (2 after an Excel `sep=` line). Default 1. */
  readonly firstLine?: number;
  /** A quoted record may not grow past this many characters (an unclosed quote would swallow the whole file). */
  readonly maxRecordChars?: number;
  /**
   * Fields a record must have, once known (the header's width). A record spanning several lines with another count
   * is an unbalanced quote (`closed-later`), not one broken row: its lines are read again one by one.
   */
  readonly width?: () => number | undefined;
}

const DEFAULT_MAX_RECORD_CHARS = 1 << 20;
/** csv-parse may read a growing block again at most this many times its size limit, in all. */
const PARSE_BUDGET_FACTOR = 8;
const LINE_FEED = 10;
const QUOTE = 34;
const CARRIAGE_RETURN = 13;

function countLineFeeds(text: string, from = 0, to = text.length): number {
  let count = 0;
  for (let i = text.indexOf('\n', from); i >= 0 && i < to; i = text.indexOf('\n', i + 1)) count++;
  return count;
}

/** End of a line's text without its CR (the line ends at `end`, before its LF). */
function stripCr(text: string, start: number, end: number): number {
  return end > start && text.charCodeAt(end - 1) === CARRIAGE_RETURN ? end - 1 : end;
}

/** Offset after `count` line breaks from `from` (or the end of the text). */
function skipLines(text: string, from: number, count: number): number {
  let at = from;
  for (let i = 0; i < count; i++) {
    const lineEnd = text.indexOf('\n', at);
    if (lineEnd < 0) return text.length;
    at = lineEnd + 1;
  }
  return at;
}

/** Quotes in text[from, to) (a loop bounded by the line: indexOf would look past `to` for the next quote). */
function countQuotes(text: string, from: number, to: number): number {
  let count = 0;
  for (let i = from; i < to; i++) if (text.charCodeAt(i) === QUOTE) count++;
  return count;
}

const isQuoteNotClosed = (error: unknown): boolean =>
  error instanceof CsvError && error.code === 'CSV_QUOTE_NOT_CLOSED';

/**
 * csv-parse on a block of whole lines; undefined when a quote in it is still open at its end, unless `complete` is
 * given: it then receives the records read before the open quote (`on_record`, only on that rare path).
 */
function parseBlock(block: string, delimiter: string, complete?: string[][]): string[][] | undefined {
  const options = { delimiter, record_delimiter: ['\r\n', '\n'], relax_quotes: true, relax_column_count: true };
  try {
    return parse(block, options);
  } catch (error) {
    if (!isQuoteNotClosed(error)) throw error;
  }
  if (complete === undefined) return undefined;
  try {
    parse(block, {
      ...options,
      on_record: (record: string[]) => {
        complete.push(record);
        return record;
      },
    });
  } catch (error) {
    if (!isQuoteNotClosed(error)) throw error;
  }
  return undefined;
}

/** Where the quoted block starting at `start` was last scanned to, so a block cut by a chunk is not rescanned. */
interface BlockScan {
  /** Offset (from the block start) of the next line to scan. */
  scanned: number;
  quotes: number;
  /** Characters handed to csv-parse so far for this block (bounded: stray quotes must not make it quadratic). */
  parsed: number;
}

/** A streaming reader: text in, the complete records so far out (one array per call: no per-record await). */
export interface CsvRecordReader {
  push(text: string): CsvItem[];
  /** The end of the text: what remains, including a last line with no line break. */
  end(): CsvItem[];
}

/**
 * Reads the records of a stream of text, in order, each with the physical line where it starts. Memory stays
 * bounded by the longest record (≤ maxRecordChars) plus one chunk.
 */
export function createCsvRecordReader(options: CsvRecordOptions): CsvRecordReader {
  const { delimiter } = options;
  const maxRecordChars = options.maxRecordChars ?? DEFAULT_MAX_RECORD_CHARS;
  let line = options.firstLine ?? 1;
  let buffer = '';
  let scan: BlockScan | undefined;

  /** Records from the start of `buffer` into `out`; returns where the unread text starts. */
  function take(final: boolean, out: CsvItem[]): number {
    let position = 0;
    // The next quote at or after `position` (-1: none left in the buffer), found once per quote rather than per line.
    let quoteAt = buffer.indexOf('"');
    while (position < buffer.length) {
      const lineEnd = buffer.indexOf('\n', position);
      if (lineEnd < 0 && !final) {
        if (buffer.length - position > maxRecordChars) out.push({ kind: 'line-too-long', line });
        break;
      }
      const end = lineEnd < 0 ? buffer.length : lineEnd;
      const next = lineEnd < 0 ? buffer.length : lineEnd + 1;
      if (quoteAt >= 0 && quoteAt < position) quoteAt = buffer.indexOf('"', position);
      if (quoteAt < 0 || quoteAt >= end) {
        // No quote on this line: RFC 4180 reads it as plain delimited text (the csv-parse bypass).
        out.push({
          kind: 'record',
          fields: buffer.slice(position, stripCr(buffer, position, end)).split(delimiter),
          line,
          lines: 1,
        });
        line += 1;
        position = next;
        continue;
      }
      const run = takeQuotedRun(position, final);
      const block = run ?? takeQuotedBlock(position, final);
      if (block === 'incomplete') break;
      if (block.kind === 'unclosed') {
        out.push({
          kind: 'unclosed-quote',
          line,
          lastLine: line + block.lineFeeds,
          text: buffer.slice(position, stripCr(buffer, position, end)),
          swallowed: block.swallowed,
        });
        line += 1;
        position = next;
        continue;
      }
      const physicalLines =
        countLineFeeds(buffer, position, block.end) + (buffer.charCodeAt(block.end - 1) === LINE_FEED ? 0 : 1);
      const width = options.width?.();
      let used = 0;
      let recordStart = position;
      let resumed = false;
      for (let index = 0; index < block.records.length; index++) {
        const fields = block.records[index] as string[];
        // The last record takes the remainder, so the lines of a block always add up to its physical lines.
        const lines =
          index === block.records.length - 1
            ? Math.max(1, physicalLines - used)
            : 1 + fields.reduce((sum, field) => sum + countLineFeeds(field), 0);
        const firstEnd = buffer.indexOf('\n', recordStart);
        const firstNext = firstEnd < 0 || firstEnd >= block.end ? block.end : firstEnd + 1;
        if (lines > 1 && width !== undefined && fields.length !== width) {
          // A quote opened here and closed lines later by another one: give up this line only, read on after it.
          const lineStop = firstEnd < 0 ? buffer.length : firstEnd;
          out.push({
            kind: 'unclosed-quote',
            line: line + used,
            lastLine: line + used + lines - 1,
            text: buffer.slice(recordStart, stripCr(buffer, recordStart, lineStop)),
            swallowed: 'closed-later',
            fields: fields.length,
          });
          line += used + 1;
          position = firstNext;
          resumed = true;
          break;
        }
        out.push({ kind: 'record', fields, line: line + used, lines });
        used += lines;
        recordStart = skipLines(buffer, recordStart, lines);
      }
      if (resumed) continue;
      line += Math.max(physicalLines, used);
      position = block.end;
    }
    return position;
  }

  /**
   * Lines that all hold a quote (PowerShell's Export-Csv quotes every field) go to csv-parse together: one call for
   * the run instead of one per line. Undefined when the run is a single line, or when a quote is still open at its
   * end and no record before it is complete (takeQuotedBlock then reads that record line by line).
   */
  function takeQuotedRun(start: number, final: boolean): Block | undefined {
    let end = start;
    let lines = 0;
    for (;;) {
      const lineEnd = buffer.indexOf('\n', end);
      if (lineEnd < 0 && (!final || end >= buffer.length)) break;
      const stop = lineEnd < 0 ? buffer.length : lineEnd;
      const quoteAt = buffer.indexOf('"', end);
      if (quoteAt < 0 || quoteAt >= stop) break;
      end = lineEnd < 0 ? buffer.length : lineEnd + 1;
      lines += 1;
    }
    if (lines < 2) return undefined;
    const complete: string[][] = [];
    const records = parseBlock(buffer.slice(start, end), delimiter, complete);
    if (records) return { kind: 'records', records, end };
    if (complete.length === 0) return undefined;
    // The records before the open quote, up to the line where it opens.
    const spanned = complete.reduce((sum, fields) => sum + 1 + fields.reduce((n, f) => n + countLineFeeds(f), 0), 0);
    return { kind: 'records', records: complete, end: skipLines(buffer, start, spanned) };
  }

  type Block =
    | { kind: 'records'; records: string[][]; end: number }
    | { kind: 'unclosed'; lineFeeds: number; swallowed: 'end-of-file' | 'limit' };

  /**
   * Whole lines from `start` up to the end of the record(s) csv-parse reads there. csv-parse is asked on the first
   * line, then at each line end where the quotes seen so far are even (an odd count cannot close a quoted field),
   * and at the end of the file.
   */
  function takeQuotedBlock(start: number, final: boolean): Block | 'incomplete' {
    const state: BlockScan = scan ?? { scanned: 0, quotes: 0, parsed: 0 };
    scan = undefined;
    let from = start + state.scanned;
    for (;;) {
      const lineEnd = buffer.indexOf('\n', from);
      if (lineEnd < 0 && !final) {
        if (buffer.length - start > maxRecordChars) {
          return { kind: 'unclosed', lineFeeds: countLineFeeds(buffer, start), swallowed: 'limit' };
        }
        scan = { scanned: from - start, quotes: state.quotes, parsed: state.parsed };
        return 'incomplete';
      }
      const end = lineEnd < 0 ? buffer.length : lineEnd + 1;
      state.quotes += countQuotes(buffer, from, end);
      if (from === start || state.quotes % 2 === 0 || lineEnd < 0) {
        state.parsed += end - start;
        const records = parseBlock(buffer.slice(start, end), delimiter);
        if (records) return { kind: 'records', records, end };
        if (state.parsed > PARSE_BUDGET_FACTOR * maxRecordChars && lineEnd >= 0) {
          return { kind: 'unclosed', lineFeeds: countLineFeeds(buffer, start, end) - 1, swallowed: 'limit' };
        }
      }
      if (lineEnd < 0) {
        // The end of the file: the last line with text is the last line the quote swallowed.
        const last = buffer.charCodeAt(buffer.length - 1) === LINE_FEED ? buffer.length - 1 : buffer.length;
        return { kind: 'unclosed', lineFeeds: countLineFeeds(buffer, start, last), swallowed: 'end-of-file' };
      }
      if (end - start > maxRecordChars) {
        return { kind: 'unclosed', lineFeeds: countLineFeeds(buffer, start, end) - 1, swallowed: 'limit' };
      }
      from = end;
    }
  }

  return {
    push(text: string): CsvItem[] {
      buffer += text;
      const out: CsvItem[] = [];
      const position = take(false, out);
      buffer = position === 0 ? buffer : buffer.slice(position);
      return out;
    },
    end(): CsvItem[] {
      const out: CsvItem[] = [];
      take(true, out);
      buffer = '';
      return out;
    },
  };
}

/** The items of a stream of text, one at a time (tests, tools; intake uses the reader's arrays directly). */
export async function* readCsvRecords(
  texts: AsyncIterable<string>,
  options: CsvRecordOptions,
): AsyncGenerator<CsvItem> {
  const reader = createCsvRecordReader(options);
  for await (const text of texts) yield* reader.push(text);
  yield* reader.end();
}
