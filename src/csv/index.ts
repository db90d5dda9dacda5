export { assertRequiredColumns, COLUMNS, type Column, type HeaderMap, mapHeader, REQUIRED_COLUMNS } from './columns.js';
export { toCsvCell, toCsvLine } from './csv-cell.js';
export {
  type CsvItem,
  type CsvRecord,
  type CsvRecordOptions,
  type CsvRecordReader,
  createCsvRecordReader,
  type LineTooLong,
  readCsvRecords,
  type UnclosedQuote,
} from './csv-records.js';
export { type CsvEncoding, type DecodeOptions, decodeChunks } from './decode-chunks.js';
export { DELIMITERS, type Delimiter, detectDelimiter, parseDelimiterOption } from './detect-delimiter.js';
export {
  type FieldResult,
  parseAccountName,
  parseAuth,
  parseEmail,
  parseFreeText,
  parseOfficeVersion,
  parsePrincipal,
  parseSite,
  parseYesNo,
} from './field-rules.js';
export { checkHostName, checkServerName, checkWorkstation, isIpv4, isIpv6 } from './host-rules.js';
export { type ProxyParse, parseProxyUrl } from './proxy-url.js';
export { type RosterItem, type RosterOptions, readRoster } from './read-roster.js';
export { describeValue, hasControlCharacter, MAX_SHOWN_CHARS } from './text-rules.js';
export {
  type AcceptedRow,
  OFFICE_VERSIONS,
  type OfficeVersion,
  type ProxyAuth,
  type Rejection,
  type UserSpec,
} from './user-spec.js';
export {
  type ClaimUsername,
  createRowMemo,
  type DefaultCells,
  type RowMemo,
  type RowResult,
  toDefaultCells,
  validateRow,
} from './validate-row.js';
