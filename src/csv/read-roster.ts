import type { ColumnDefaults } from '../config/campaign-schema.js';
import { FleetError } from '../errors/index.js';
import { assertRequiredColumns, type HeaderMap, mapHeader } from './columns.js';
import { type CsvItem, type CsvRecord, createCsvRecordReader, type UnclosedQuote } from './csv-records.js';
import { type CsvEncoding, decodeChunks } from './decode-chunks.js';
import { DELIMITERS, type Delimiter, detectDelimiter } from './detect-delimiter.js';
import { describeValue } from './text-rules.js';
import type { AcceptedRow, Rejection } from './user-spec.js';
import { createRowMemo, toDefaultCells, validateRow } from './validate-row.js';

export interface RosterOptions {
  /** Label used in messages (usually the path as the admin typed it). */
  readonly file: string;
  readonly encoding: CsvEncoding;
  /** Auto-detected from the header line when absent. */
  readonly delimiter?: Delimiter;
  readonly defaults: ColumnDefaults;
  readonly onWarning?: (message: string) => void;
}

export type RosterItem = { kind: 'accepted'; row: AcceptedRow } | { kind: 'rejected'; rejection: Rejection };

/** A quoted record bigger than this is an unbalanced quote; a line bigger than this is not a roster. */
const MAX_RECORD_CHARS = 1 << 20;
/** NFC normalisation is the identity on ASCII, which most user names are. */
function isAscii(value: string): boolean {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) > 0x7f) return false;
  return true;
}
/** How much text is looked at to find the header line for delimiter detection. */
const PEEK_CHARS = 64 * 1024;

/** Usernames read with spaces around them (Excel exports pad cells): trimmed, and told once at the end. */
interface TrimmedNames {
  count: number;
  readonly shown: string[];
}

const SHOWN_TRIMMED = 3;

function noteTrimmed(trimmed: TrimmedNames, line: number, raw: string): void {
  trimmed.count += 1;
  if (trimmed.shown.length < SHOWN_TRIMMED) trimmed.shown.push(`line ${line} "${describeValue(raw)}"`);
}

function describeTrimmed(file: string, trimmed: TrimmedNames): string {
  const more = trimmed.count > trimmed.shown.length ? `, and ${trimmed.count - trimmed.shown.length} more` : '';
  return `${file}: removed spaces around ${trimmed.count} username(s): ${trimmed.shown.join(', ')}${more}`;
}

async function* prepend(head: string, rest: AsyncIterator<string>): AsyncGenerator<string> {
  try {
    if (head) yield head;
    for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
  } finally {
    await rest.return?.();
  }
}

/** Excel's first line naming the delimiter (`sep=;`), as written by "CSV (séparateur : point-virgule)" exports. */
const SEP_LINE = /^sep=(.?)\r?\n/i;

interface Framing {
  readonly delimiter: Delimiter;
  readonly texts: AsyncGenerator<string>;
  /** Physical line of the first text (2 after a `sep=` line). */
  readonly firstLine: number;
}

async function chooseDelimiter(
  texts: AsyncIterator<string>,
  forced: Delimiter | undefined,
  file: string,
): Promise<Framing> {
  let head = '';
  while (!head.includes('\n') && head.length < PEEK_CHARS) {
    const next = await texts.next();
    if (next.done) break;
    head += next.value;
  }
  const sep = SEP_LINE.exec(head);
  if (sep) {
    const named = sep[1] ?? '';
    if (!forced && !DELIMITERS.includes(named as Delimiter)) {
      const shown = named === '' ? 'nothing' : `"${describeValue(named)}"`;
      throw new FleetError(
        'FR_ERR_CSV_MALFORMED',
        `the first line "sep=" names ${shown} as the delimiter; fleet-rollout reads , ; or TAB (or pass --delimiter)`,
        { file, line: 1 },
      );
    }
    const rest = head.slice(sep[0].length);
    return { delimiter: forced ?? (named as Delimiter), texts: prepend(rest, texts), firstLine: 2 };
  }
  return { delimiter: forced ?? detectDelimiter(head), texts: prepend(head, texts), firstLine: 1 };
}

/** The rejection of a line whose quote is unbalanced (the rows after it are read as usual). */
function unbalancedQuote(item: UnclosedQuote, width: number | undefined): Rejection {
  const range = `lines ${item.line}–${item.lastLine}`;
  const next = `; only this line is rejected, reading goes on at line ${item.line + 1}`;
  let reason: string;
  if (item.swallowed === 'end-of-file') {
    reason = `a quote opened on this line is never closed (it would swallow ${range}, the rest of the file)${next}`;
  } else if (item.swallowed === 'limit') {
    reason = `a quote opened on this line is not closed within 1 MiB (it would swallow ${range} at least)${next}`;
  } else {
    reason =
      `a quote opened on this line is only closed on line ${item.lastLine}, which makes ${range} one record of ` +
      `${item.fields ?? 0} field(s) (the header has ${width ?? 0})${next}`;
  }
  return { line: item.line, column: '*', value: describeValue(item.text), reason, code: 'FR_ERR_ROW_MALFORMED' };
}

function isBlank(record: readonly string[]): boolean {
  for (const field of record) {
    // A field starting with a printable ASCII character is not blank: no trim() needed (nearly every record).
    const first = field.charCodeAt(0);
    if (first > 32 && first < 127) return false;
    if (field.trim() !== '') return false;
  }
  return true;
}

/**
 * Streams a CSV roster: yields one accepted row or one rejection per record, in file order, with the physical
 * line where the record starts (header = 1). Memory stays constant except the set of usernames seen.
 * Whole-file problems (empty, header only, missing columns, unparseable) throw FleetError with `details.file`.
 */
export async function* readRoster(
  chunks: AsyncIterable<Uint8Array>,
  options: RosterOptions,
): AsyncGenerator<RosterItem> {
  const { file } = options;
  const framing = await chooseDelimiter(decodeChunks(chunks, options), options.delimiter, file);
  const defaults = toDefaultCells(options.defaults);
  const seen = new Map<string, number>();
  const memo = createRowMemo();
  const claimUsername = (username: string, line: number): number | null => {
    const key = (isAscii(username) ? username : username.normalize('NFC')).toLowerCase();
    const first = seen.get(key);
    if (first !== undefined) return first;
    seen.set(key, line);
    return null;
  };
  const trimmed: TrimmedNames = { count: 0, shown: [] };
  let header: HeaderMap | undefined;
  let dataRecords = 0;
  /** One record → an item, or undefined for the header and blank lines. */
  const toItem = (record: CsvRecord): RosterItem | undefined => {
    if (isBlank(record.fields)) return undefined;
    if (!header) {
      header = mapHeader(record.fields, file);
      if (header.unknown.length > 0) {
        const names = header.unknown.map((name) => describeValue(name)).join(', ');
        options.onWarning?.(`${file}: ignoring unknown column(s): ${names}`);
      }
      assertRequiredColumns(header, (column) => defaults[column] !== undefined, file);
      return undefined;
    }
    dataRecords++;
    const result = validateRow(record.fields, record.line, header, defaults, claimUsername, memo);
    if (!result.ok) {
      if (record.lines === 1) return { kind: 'rejected', rejection: result.rejection };
      const last = record.line + record.lines - 1;
      const span = ` (this record spans lines ${record.line}–${last}: a quote opened on line ${record.line} is closed on line ${last})`;
      return { kind: 'rejected', rejection: { ...result.rejection, reason: result.rejection.reason + span } };
    }
    if (result.trimmedUsername !== undefined) noteTrimmed(trimmed, record.line, result.trimmedUsername);
    return { kind: 'accepted', row: result.row };
  };

  const reader = createCsvRecordReader({
    delimiter: framing.delimiter,
    firstLine: framing.firstLine,
    maxRecordChars: MAX_RECORD_CHARS,
    width: () => header?.width,
  });
  /** The roster items of a batch of CSV items (header and blank lines give none). */
  const toItems = (batch: readonly CsvItem[]): RosterItem[] => {
    const items: RosterItem[] = [];
    for (const record of batch) {
      if (record.kind === 'record') {
        const item = toItem(record);
        if (item) items.push(item);
        continue;
      }
      if (record.kind === 'line-too-long') {
        const message = `line ${record.line} is longer than 1 MiB with no line break (not a CSV roster?)`;
        throw new FleetError('FR_ERR_CSV_MALFORMED', message, { file, line: record.line });
      }
      if (!header) {
        throw new FleetError('FR_ERR_CSV_MALFORMED', 'the header row has a quote that is never closed', {
          file,
          line: record.line,
        });
      }
      dataRecords++;
      items.push({ kind: 'rejected', rejection: unbalancedQuote(record, header.width) });
    }
    return items;
  };
  for await (const text of framing.texts) yield* toItems(reader.push(text));
  yield* toItems(reader.end());
  if (trimmed.count > 0) options.onWarning?.(describeTrimmed(file, trimmed));
  if (!header) throw new FleetError('FR_ERR_CSV_EMPTY', 'the CSV file is empty (no header row)', { file });
  if (dataRecords === 0) {
    throw new FleetError('FR_ERR_CSV_EMPTY', 'the CSV file has a header row but no data rows', { file });
  }
}
