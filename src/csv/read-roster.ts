import type { ColumnDefaults } from '../config/campaign-schema.js';
import { FleetError } from '../errors/index.js';
import { assertRequiredColumns, type HeaderMap, mapHeader } from './columns.js';
import { type CsvEncoding, decodeChunks } from './decode-chunks.js';
import { type Delimiter, detectDelimiter } from './detect-delimiter.js';
import { type CsvRecord, splitRecord } from './record-splitter.js';
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

/** A record bigger than this is a broken file (typically an unbalanced quote swallowing the rest). */
const MAX_RECORD_CHARS = 1 << 20;
/** NFC normalisation is the identity on ASCII, which most user names are. */
function isAscii(value: string): boolean {
  for (let i = 0; i < value.length; i++) if (value.charCodeAt(i) > 0x7f) return false;
  return true;
}
/** How much text is looked at to find the header line for delimiter detection. */
const PEEK_CHARS = 64 * 1024;

async function* prepend(head: string, rest: AsyncIterator<string>): AsyncGenerator<string> {
  try {
    if (head) yield head;
    for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
  } finally {
    await rest.return?.();
  }
}

async function chooseDelimiter(
  texts: AsyncIterator<string>,
  forced: Delimiter | undefined,
): Promise<{ delimiter: Delimiter; texts: AsyncGenerator<string> }> {
  if (forced) return { delimiter: forced, texts: prepend('', texts) };
  let head = '';
  while (!head.includes('\n') && head.length < PEEK_CHARS) {
    const next = await texts.next();
    if (next.done) break;
    head += next.value;
  }
  return { delimiter: detectDelimiter(head), texts: prepend(head, texts) };
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
  const { delimiter, texts } = await chooseDelimiter(decodeChunks(chunks, options), options.delimiter);
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
  let header: HeaderMap | undefined;
  let line = 1;
  let dataRecords = 0;
  /** One record → an item, or undefined for the header and blank lines. */
  const toItem = (record: CsvRecord): RosterItem | undefined => {
    const start = line;
    line += record.lines;
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
    const result = validateRow(record.fields, start, header, defaults, claimUsername, memo);
    return result.ok ? { kind: 'accepted', row: result.row } : { kind: 'rejected', rejection: result.rejection };
  };

  let buffer = '';
  for await (const text of texts) {
    buffer += text;
    let position = 0;
    for (;;) {
      const result = splitRecord(buffer, position, delimiter, false);
      if (result.kind !== 'record') break;
      position = result.next;
      const item = toItem(result.record);
      if (item) yield item;
    }
    buffer = position === 0 ? buffer : buffer.slice(position);
    if (buffer.length > MAX_RECORD_CHARS) {
      const message = `the record starting on line ${line} is larger than 1 MiB (a quote never closed?)`;
      throw new FleetError('FR_ERR_CSV_MALFORMED', message, { file, line });
    }
  }
  let position = 0;
  while (position < buffer.length) {
    const result = splitRecord(buffer, position, delimiter, true);
    if (result.kind === 'record') {
      position = result.next;
      const item = toItem(result.record);
      if (item) yield item;
      continue;
    }
    if (!header)
      throw new FleetError('FR_ERR_CSV_MALFORMED', 'the header row has a quote that is never closed', { file });
    dataRecords++;
    const reason = 'a quoted field opened on this line is never closed (the rest of the file was read as one field)';
    yield { kind: 'rejected', rejection: { line, column: '*', value: '', reason, code: 'FR_ERR_ROW_MALFORMED' } };
    break;
  }
  if (!header) throw new FleetError('FR_ERR_CSV_EMPTY', 'the CSV file is empty (no header row)', { file });
  if (dataRecords === 0) {
    throw new FleetError('FR_ERR_CSV_EMPTY', 'the CSV file has a header row but no data rows', { file });
  }
}
