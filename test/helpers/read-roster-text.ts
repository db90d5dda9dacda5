import type { ColumnDefaults } from '../../src/config/campaign-schema.js';
import { type CsvEncoding, type Delimiter, type RosterItem, readRoster } from '../../src/csv/index.js';

export interface ReadOptions {
  readonly defaults?: ColumnDefaults;
  readonly encoding?: CsvEncoding;
  readonly delimiter?: Delimiter;
  /** Split the bytes into chunks of this size (exercises chunk boundaries). */
  readonly chunkSize?: number;
}

export interface ReadResult {
  readonly items: RosterItem[];
  readonly warnings: string[];
}

async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.length; offset += size) yield bytes.subarray(offset, offset + size);
}

/** Runs the real streaming reader over in-memory bytes (no I/O). */
export async function readBytes(bytes: Uint8Array, options: ReadOptions = {}): Promise<ReadResult> {
  const warnings: string[] = [];
  const items: RosterItem[] = [];
  const roster = readRoster(chunked(bytes, options.chunkSize ?? 64 * 1024), {
    file: 'users.csv',
    encoding: options.encoding ?? 'auto',
    ...(options.delimiter ? { delimiter: options.delimiter } : {}),
    defaults: options.defaults ?? {},
    onWarning: (message) => warnings.push(message),
  });
  for await (const item of roster) items.push(item);
  return { items, warnings };
}

export function readText(text: string, options: ReadOptions = {}): Promise<ReadResult> {
  return readBytes(new TextEncoder().encode(text), options);
}

export const HEADER = 'username,exchange_server,proxy';

/** One data row under HEADER plus the given extra columns, e.g. rowWith({ auth: 'basic' }). */
export function csvWith(
  columns: Record<string, string>,
  base = { username: 'jdupont', exchange_server: 'exch01', proxy: 'mail.contoso.fr' },
): string {
  const all: Record<string, string> = { ...base, ...columns };
  const quote = (v: string): string => (/[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
  return `${Object.keys(all).join(',')}\n${Object.values(all).map(quote).join(',')}\n`;
}

/** The single item of a one-row CSV. */
export async function readOne(columns: Record<string, string>): Promise<RosterItem> {
  const { items } = await readText(csvWith(columns));
  if (items.length !== 1 || !items[0]) throw new Error(`expected one item, got ${items.length}`);
  return items[0];
}
