import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AtomicLineWriter } from './atomic-line-writer.js';
import { formatReportCsv, formatReportJson, type ReportRow } from './stream-report.js';

export type ReportFormat = 'csv' | 'json';

/** Streams the report into a file (temporary file renamed at the end: a reader never sees half a report). */
export async function writeReportFile(
  report: AsyncIterable<ReportRow>,
  format: ReportFormat,
  path: string,
): Promise<number> {
  await mkdir(dirname(path), { recursive: true });
  const writer = new AtomicLineWriter(path);
  let rows = 0;
  try {
    const source = countRows(report, () => {
      rows += 1;
    });
    for await (const chunk of toReportChunks(source, format)) await writer.write(chunk);
    await writer.commit();
  } catch (error) {
    await writer.abort();
    throw error;
  }
  return rows;
}

export function toReportChunks<T extends Parameters<typeof formatReportCsv>[0]>(
  rows: T,
  format: ReportFormat,
): AsyncGenerator<string> {
  return format === 'json' ? formatReportJson(rows) : formatReportCsv(rows);
}

async function* countRows<T>(rows: AsyncIterable<T>, onRow: () => void): AsyncGenerator<T> {
  for await (const row of rows) {
    onRow();
    yield row;
  }
}
