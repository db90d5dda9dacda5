import { toCsvLine } from '../csv/index.js';
import type { RecordStore, UserFilter, UserRecord } from '../store/types.js';
import { requireCampaign } from './start-campaign.js';

/** One row per user; the same columns in CSV and JSON. Timestamps are ISO 8601 (UTC). */
export interface ReportRow {
  readonly username: string;
  readonly display_name: string;
  readonly host: string;
  readonly site: string;
  readonly state: string;
  /** The step of the last attempt: apply or rollback (a failed rollback is not a failed apply). */
  readonly stage: string;
  readonly attempts: number;
  readonly last_error_code: string;
  /** The underlying code when last_error_code wraps one (FR_ERR_ATTEMPTS_EXHAUSTED). */
  readonly last_error_cause: string;
  readonly last_error_message: string;
  readonly checksum: string;
  readonly updated_at: string;
  readonly finished_at: string;
}

export const REPORT_COLUMNS: ReadonlyArray<keyof ReportRow> = [
  'username',
  'display_name',
  'host',
  'site',
  'state',
  'stage',
  'attempts',
  'last_error_code',
  'last_error_cause',
  'last_error_message',
  'checksum',
  'updated_at',
  'finished_at',
];

export function toReportRow(user: UserRecord): ReportRow {
  return {
    username: user.username,
    display_name: user.displayName ?? '',
    host: user.host ?? '',
    site: user.site ?? '',
    state: user.state,
    stage: user.stage ?? '',
    attempts: user.attempts,
    last_error_code: user.lastError?.code ?? '',
    last_error_cause: user.lastError?.cause ?? '',
    last_error_message: user.lastError?.message ?? '',
    checksum: user.checksum ?? '',
    updated_at: new Date(user.updatedAt).toISOString(),
    finished_at: user.finishedAt === undefined ? '' : new Date(user.finishedAt).toISOString(),
  };
}

/** Rows in name order, streamed from the store in batches: 100k users never sit in memory together. */
export async function* streamReport(
  store: RecordStore,
  name: string,
  filter: UserFilter = {},
): AsyncGenerator<ReportRow> {
  await requireCampaign(store, name);
  for await (const users of store.scanUsers(name, filter)) {
    for (const user of users) yield toReportRow(user);
  }
}

/** Formula-safe CSV text (header first), chunk by chunk. */
export async function* formatReportCsv(rows: AsyncIterable<ReportRow>): AsyncGenerator<string> {
  yield toCsvLine(REPORT_COLUMNS);
  for await (const row of rows) yield toCsvLine(REPORT_COLUMNS.map((column) => String(row[column])));
}

/** A JSON array, one row per line, without building the whole array. */
export async function* formatReportJson(rows: AsyncIterable<ReportRow>): AsyncGenerator<string> {
  let first = true;
  yield '[';
  for await (const row of rows) {
    yield `${first ? '\n' : ',\n'}${JSON.stringify(row)}`;
    first = false;
  }
  yield first ? ']\n' : '\n]\n';
}
