/**
 * Formula-safe CSV writing for reports (rejected.csv, exports). A cell starting with `=`, `+`, `-`, `@`, TAB or CR
 * would be run as a formula by Excel/LibreOffice (CSV injection), so it gets a leading `'`.
 */
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n;\t]/;

export function toCsvCell(value: string): string {
  const safe = FORMULA_START.test(value) ? `'${value}` : value;
  return NEEDS_QUOTES.test(safe) || safe !== safe.trim() ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** One CSV line (comma-separated, CRLF-terminated as RFC 4180 and Excel expect). */
export function toCsvLine(cells: readonly string[]): string {
  return `${cells.map(toCsvCell).join(',')}\r\n`;
}
