import { type Parser, parse } from 'csv-parse';
import type { ColumnDefaults } from '../config/campaign-schema.js';
import { FleetError } from '../errors/index.js';
import { assertRequiredColumns, type HeaderMap, mapHeader } from './columns.js';
import { type CsvEncoding, decodeChunks } from './decode-chunks.js';
import { type Delimiter, detectDelimiter } from './detect-delimiter.js';
import type { AcceptedRow, Rejection } from './user-spec.js';
import { toDefaultCells, validateRow } from './validate-row.js';

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
const MAX_RECORD_BYTES = 1 << 20;
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

function waitForDrain(parser: Parser): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      parser.off('drain', done);
      parser.off('close', done);
      resolve();
    };
    parser.on('drain', done);
    parser.on('close', done);
  });
}

/** Feeds text to the parser with back-pressure; stops (closing the source) if the parser is destroyed. */
async function pump(texts: AsyncGenerator<string>, parser: Parser): Promise<void> {
  try {
    for await (const text of texts) {
      if (parser.destroyed) return;
      if (!parser.write(text)) await waitForDrain(parser);
      if (parser.destroyed) return;
    }
    parser.end();
  } catch (error) {
    parser.destroy(error instanceof Error ? error : new Error(String(error)));
  }
}

/** Physical lines a record spans: line breaks survive only inside quoted fields. */
function countLineBreaks(record: readonly string[]): number {
  let breaks = 0;
  for (const field of record) {
    if (!field.includes('\n')) continue;
    for (let i = field.indexOf('\n'); i >= 0; i = field.indexOf('\n', i + 1)) breaks++;
  }
  return breaks;
}

function isBlank(record: readonly string[]): boolean {
  return record.every((field) => field.trim() === '');
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
  const decoded = decodeChunks(chunks, options);
  const { delimiter, texts } = await chooseDelimiter(decoded, options.delimiter);
  let unclosedQuote = false;
  let fatal: FleetError | undefined;
  const parser = parse({
    delimiter,
    record_delimiter: ['\r\n', '\n'],
    relax_column_count: true,
    relax_quotes: true,
    max_record_size: MAX_RECORD_BYTES,
    skip_records_with_error: true,
    on_skip: (error) => {
      // With relax_quotes, only an unclosed quote (at the end of input) or an oversized record gets here.
      if (error?.code === 'CSV_QUOTE_NOT_CLOSED') {
        unclosedQuote = true;
        return;
      }
      fatal = new FleetError('FR_ERR_CSV_MALFORMED', `cannot parse the CSV: ${error?.message ?? 'unknown error'}`, {
        file,
      });
      parser.destroy(fatal);
    },
  });
  const feeding = pump(texts, parser);
  const defaults = toDefaultCells(options.defaults);
  const seen = new Map<string, number>();
  const claimUsername = (username: string, line: number): number | null => {
    const key = username.normalize('NFC').toLowerCase();
    const first = seen.get(key);
    if (first !== undefined) return first;
    seen.set(key, line);
    return null;
  };
  let header: HeaderMap | undefined;
  let line = 1;
  let dataRecords = 0;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      const start = line;
      line += 1 + countLineBreaks(record);
      if (isBlank(record)) continue;
      if (!header) {
        header = mapHeader(record, file);
        if (header.unknown.length > 0) {
          options.onWarning?.(`${file}: ignoring unknown column(s): ${header.unknown.join(', ')}`);
        }
        assertRequiredColumns(header, (column) => defaults[column] !== undefined, file);
        continue;
      }
      dataRecords++;
      const result = validateRow(record, start, header, defaults, claimUsername);
      yield result.ok ? { kind: 'accepted', row: result.row } : { kind: 'rejected', rejection: result.rejection };
    }
  } catch (error) {
    throw fatal ?? error;
  } finally {
    parser.destroy();
    await feeding;
  }
  if (unclosedQuote) {
    if (!header)
      throw new FleetError('FR_ERR_CSV_MALFORMED', 'the header row has a quote that is never closed', { file });
    dataRecords++;
    const reason = 'a quoted field opened on this line is never closed (the rest of the file was read as one field)';
    yield { kind: 'rejected', rejection: { line, column: '*', value: '', reason, code: 'FR_ERR_ROW_MALFORMED' } };
  }
  if (!header) throw new FleetError('FR_ERR_CSV_EMPTY', 'the CSV file is empty (no header row)', { file });
  if (dataRecords === 0) {
    throw new FleetError('FR_ERR_CSV_EMPTY', 'the CSV file has a header row but no data rows', { file });
  }
}
