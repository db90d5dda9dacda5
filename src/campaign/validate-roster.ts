import { createHash } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CampaignFile } from '../config/campaign-schema.js';
import type { CsvEncoding, Delimiter } from '../csv/index.js';
import { toCsvLine } from '../csv/index.js';
import type { AcceptedRow, Rejection } from '../csv/user-spec.js';
import { renderProfile } from '../profile/index.js';
import type { ProfileOptions } from '../profile/profile-options.js';
import type { WaveMember } from '../rollout/waves.js';
import { AtomicLineWriter } from './atomic-line-writer.js';
import { NotUtf8Error, readRosterFile } from './read-roster-file.js';

/** How to read a roster (same flags for both passes of an import). */
export interface RosterReadOptions {
  readonly encoding?: CsvEncoding;
  readonly delimiter?: Delimiter;
  readonly onWarning?: (message: string) => void;
  /** Each chunk read, in order (hash of the bytes imported). */
  readonly onChunk?: (bytes: Uint8Array) => void;
  /** See RosterFileOptions.optimisticUtf8. */
  readonly optimisticUtf8?: boolean;
}

export type CheckedRow = { kind: 'accepted'; row: AcceptedRow } | { kind: 'rejected'; rejection: Rejection };

/**
 * Streams the roster and renders each accepted row, so a value the PRF cannot hold (code page, unsafe value) is a
 * rejected row too. Constant memory apart from the reader's set of seen usernames.
 */
export async function* checkRosterRows(
  csvPath: string,
  settings: CampaignFile,
  profile: ProfileOptions,
  options: RosterReadOptions,
): AsyncGenerator<CheckedRow> {
  const items = readRosterFile(csvPath, {
    encoding: options.encoding ?? 'auto',
    defaults: settings.defaults,
    ...(options.delimiter && { delimiter: options.delimiter }),
    ...(options.onWarning && { onWarning: options.onWarning }),
    ...(options.onChunk && { onChunk: options.onChunk }),
    ...(options.optimisticUtf8 && { optimisticUtf8: true }),
  });
  for await (const item of items) {
    if (item.kind === 'rejected') {
      yield item;
      continue;
    }
    if (item.row.spec.host === undefined) {
      // Deploying needs a workstation: refuse the row here, with its line, rather than fail the user at deploy time.
      yield {
        kind: 'rejected',
        rejection: {
          line: item.row.line,
          column: 'host',
          value: '',
          reason: 'a workstation host is required to deploy (add a host column or defaults.host in the campaign file)',
          code: 'FR_ERR_ROW_FIELD_REQUIRED',
          username: item.row.spec.username,
        },
      };
      continue;
    }
    const rendered = renderProfile(item.row.spec, profile);
    if (rendered.ok) yield item;
    else
      yield {
        kind: 'rejected',
        rejection: { ...rendered.rejection, line: item.row.line, username: item.row.spec.username },
      };
  }
}

export interface ValidationSummary {
  readonly valid: number;
  readonly rejected: number;
  /** Written only when some row was rejected (a stale report of an earlier import is removed). */
  readonly reportPath?: string;
}

/** What pass 1 of an import learnt: the counts, the encoding to read pass 2 with, and the bytes it read. */
export interface RosterCheck extends ValidationSummary {
  readonly encoding: CsvEncoding;
  /** Rows pass 2 writes: the valid ones and the rejected ones whose username is known (recorded `skipped`). */
  readonly rowsToWrite: number;
  /** SHA-256 of exactly the bytes pass 1 read. */
  readonly sha256: string;
  /** The valid users in CSV order, when asked for (the wave planner's input). */
  readonly members?: readonly WaveMember[];
}

export const REJECTION_HEADER = ['line', 'column', 'value', 'reason'] as const;

/**
 * Pass 1 of an import: validates every row and writes the formula-safe rejection report, reading the file once
 * (with encoding `auto`, a file that turns out not to be UTF-8 is read once more, as windows-1252, from the start,
 * so no row is decoded one way and the next another).
 */
export async function validateRoster(
  csvPath: string,
  settings: CampaignFile,
  profile: ProfileOptions,
  reportPath: string,
  options: RosterReadOptions,
  collectMembers = false,
): Promise<RosterCheck> {
  const encoding = options.encoding ?? 'auto';
  const once = { collectMembers, ...options };
  try {
    return await validateOnce(csvPath, settings, profile, reportPath, { ...once, encoding, optimisticUtf8: true });
  } catch (error) {
    if (!(error instanceof NotUtf8Error)) throw error;
    options.onWarning?.(`${csvPath}: not valid UTF-8, reading it as windows-1252 (use --encoding to choose)`);
    return validateOnce(csvPath, settings, profile, reportPath, { ...once, encoding: 'windows-1252' });
  }
}

async function validateOnce(
  csvPath: string,
  settings: CampaignFile,
  profile: ProfileOptions,
  reportPath: string,
  options: RosterReadOptions & { readonly encoding: CsvEncoding; readonly collectMembers: boolean },
): Promise<RosterCheck> {
  // The wave planner needs every valid user (sizes are shares of the whole campaign) before the first is written.
  const members: WaveMember[] | undefined = options.collectMembers ? [] : undefined;
  let valid = 0;
  let rejected = 0;
  let rowsToWrite = 0;
  let writer: AtomicLineWriter | undefined;
  const hash = createHash('sha256');
  try {
    const read = { ...options, onChunk: (bytes: Uint8Array) => hash.update(bytes) };
    for await (const item of checkRosterRows(csvPath, settings, profile, read)) {
      if (item.kind === 'accepted') {
        valid += 1;
        rowsToWrite += 1;
        const { username, site } = item.row.spec;
        members?.push(site === undefined ? { username } : { username, site });
        continue;
      }
      rejected += 1;
      if (item.rejection.username !== undefined) rowsToWrite += 1;
      if (!writer) {
        await mkdir(dirname(reportPath), { recursive: true });
        writer = new AtomicLineWriter(reportPath);
        await writer.write(toCsvLine(REJECTION_HEADER));
      }
      const { line, column, value, reason } = item.rejection;
      await writer.write(toCsvLine([String(line), column, value, reason]));
    }
    if (writer) await writer.commit();
    else await rm(reportPath, { force: true });
  } catch (error) {
    await writer?.abort();
    throw error;
  }
  const summary = {
    valid,
    rejected,
    rowsToWrite,
    encoding: options.encoding,
    sha256: hash.digest('hex'),
    ...(members && { members }),
  };
  return writer ? { ...summary, reportPath } : summary;
}
