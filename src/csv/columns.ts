import { FleetError } from '../errors/index.js';

/** The CSV contract (README "CSV format"). Order is the documented order. */
export const COLUMNS = [
  'username',
  'email',
  'display_name',
  'mailbox',
  'exchange_server',
  'proxy',
  'auth',
  'mutual_auth',
  'principal',
  'http_first_fast',
  'http_first_slow',
  'host',
  'site',
  'office',
  'profile_name',
] as const;
export type Column = (typeof COLUMNS)[number];

/** Must be in the header; `exchange_server` and `proxy` may come from campaign defaults instead. */
export const REQUIRED_COLUMNS: readonly Column[] = ['username', 'exchange_server', 'proxy'];

const KNOWN = new Set<string>(COLUMNS);

export interface HeaderMap {
  /** Index of each known column in a record. */
  readonly indexes: ReadonlyMap<Column, number>;
  /** Header names that are not part of the contract (ignored). */
  readonly unknown: readonly string[];
  /** Number of fields a record must have. */
  readonly width: number;
}

/** Header names are case-insensitive, surrounding spaces ignored; a name twice is a malformed file. */
export function mapHeader(cells: readonly string[], file: string): HeaderMap {
  const indexes = new Map<Column, number>();
  const unknown: string[] = [];
  cells.forEach((cell, index) => {
    const name = cell.trim().toLowerCase();
    if (!KNOWN.has(name)) {
      unknown.push(cell.trim() === '' ? `(empty, field ${index + 1})` : cell.trim());
      return;
    }
    const column = name as Column;
    if (indexes.has(column)) {
      throw new FleetError('FR_ERR_CSV_MALFORMED', `column "${column}" appears twice in the header`, { file });
    }
    indexes.set(column, index);
  });
  return { indexes, unknown, width: cells.length };
}

/** Throws FR_ERR_CSV_MISSING_COLUMNS listing what was found and what is expected. */
export function assertRequiredColumns(header: HeaderMap, hasDefault: (column: Column) => boolean, file: string): void {
  const missing = REQUIRED_COLUMNS.filter(
    (column) => !header.indexes.has(column) && (column === 'username' || !hasDefault(column)),
  );
  if (missing.length === 0) return;
  const found = [...header.indexes.keys()].join(', ') || '(none)';
  const message =
    `missing column(s) ${missing.join(', ')} (not in the header and no campaign default); ` +
    `found: ${found}; expected: ${REQUIRED_COLUMNS.join(', ')} (exchange_server and proxy may come from the campaign file's defaults)`;
  throw new FleetError('FR_ERR_CSV_MISSING_COLUMNS', message, { file, missing: missing.join(',') });
}
