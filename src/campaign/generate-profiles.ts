import { mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { CampaignFile } from '../config/campaign-schema.js';
import { type CsvEncoding, type Delimiter, type Rejection, toCsvLine, type UserSpec } from '../csv/index.js';
import { FleetError } from '../errors/index.js';
import { assertProfileOptions, type ProfileArtifact, type ProfileOptions, renderProfile } from '../profile/index.js';
import { AtomicLineWriter } from './atomic-line-writer.js';
import { readRosterFile } from './read-roster-file.js';

export interface GenerateRequest {
  readonly csvPath: string;
  readonly outDir: string;
  readonly campaign: CampaignFile;
  readonly profileOptions: ProfileOptions;
  readonly encoding: CsvEncoding;
  readonly delimiter?: Delimiter;
  readonly onWarning?: (message: string) => void;
  /** Called with the bytes of CSV read so far, after each chunk. */
  readonly onProgress?: (bytesRead: number) => void;
}

export interface GenerateSummary {
  readonly valid: number;
  readonly rejected: number;
  readonly manifestPath: string;
  /** Present when at least one row was rejected. */
  readonly rejectedPath?: string;
}

/** What the agent needs later about one generated PRF (one JSON line of manifest.jsonl). */
export interface ManifestEntry {
  readonly username: string;
  readonly fileName: string;
  readonly line: number;
  readonly host?: string;
  readonly site?: string;
  readonly office: string;
  readonly profileName: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly encoding: ProfileOptions['encoding'];
  /** ANSI code page, or 1200 (UTF-16LE) for utf16le output. */
  readonly codepage: number;
}

/** PRF files written at once: enough to keep the disk busy, few enough to bound memory. */
const WRITES_IN_FLIGHT = 32;

export const MANIFEST_FILE = 'manifest.jsonl';
export const REJECTED_FILE = 'rejected.csv';
export const REJECTED_HEADER = ['line', 'column', 'value', 'reason'] as const;

function toManifestEntry(
  spec: UserSpec,
  line: number,
  artifact: ProfileArtifact,
  options: ProfileOptions,
): ManifestEntry {
  return {
    username: spec.username,
    fileName: artifact.fileName,
    line,
    ...(spec.host === undefined ? {} : { host: spec.host }),
    ...(spec.site === undefined ? {} : { site: spec.site }),
    office: spec.office,
    profileName: spec.profileName,
    sha256: artifact.sha256,
    bytes: artifact.bytes.length,
    encoding: options.encoding,
    codepage: options.encoding === 'utf16le' ? 1200 : options.codepage,
  };
}

function unwritable(path: string, error: unknown): FleetError {
  const code = (error as NodeJS.ErrnoException).code ?? 'write error';
  return new FleetError('FR_ERR_OUTPUT_UNWRITABLE', `cannot write ${path} (${code})`, { file: path });
}

/**
 * `fleet-rollout generate`: streams the CSV, renders one PRF per valid row into `outDir`, and writes
 * `manifest.jsonl` and (when rows were rejected) `rejected.csv`. Rows the generator refuses (a value not
 * representable in the code page) are rejected like invalid rows.
 */
export async function generateProfiles(request: GenerateRequest): Promise<GenerateSummary> {
  const { outDir, profileOptions } = request;
  assertProfileOptions(profileOptions);
  try {
    await mkdir(outDir, { recursive: true });
  } catch (error) {
    throw unwritable(outDir, error);
  }
  const manifestPath = join(outDir, MANIFEST_FILE);
  const rejectedPath = join(outDir, REJECTED_FILE);
  const manifest = new AtomicLineWriter(manifestPath);
  let rejectedWriter: AtomicLineWriter | undefined;
  let valid = 0;
  let rejected = 0;
  let bytesRead = 0;
  const inFlight = new Set<Promise<void>>();

  const reject = async (rejection: Rejection): Promise<void> => {
    rejected++;
    if (!rejectedWriter) {
      rejectedWriter = new AtomicLineWriter(rejectedPath);
      await rejectedWriter.write(toCsvLine(REJECTED_HEADER));
    }
    const { line, column, value, reason } = rejection;
    await rejectedWriter.write(toCsvLine([String(line), column, value, reason]));
  };
  let writeError: FleetError | undefined;
  // Write failures are recorded, never left as unhandled rejections, and surface at the next write or at the end.
  const writeProfile = async (artifact: ProfileArtifact): Promise<void> => {
    if (writeError) throw writeError;
    const path = join(outDir, basename(artifact.fileName));
    const write: Promise<void> = writeFile(path, artifact.bytes).then(
      () => {
        inFlight.delete(write);
      },
      (error: unknown) => {
        inFlight.delete(write);
        writeError ??= unwritable(path, error);
      },
    );
    inFlight.add(write);
    if (inFlight.size >= WRITES_IN_FLIGHT) await Promise.race(inFlight);
  };

  try {
    const items = readRosterFile(request.csvPath, {
      encoding: request.encoding,
      ...(request.delimiter ? { delimiter: request.delimiter } : {}),
      defaults: request.campaign.defaults,
      ...(request.onWarning ? { onWarning: request.onWarning } : {}),
      onChunk: (bytes) => {
        bytesRead += bytes.length;
        request.onProgress?.(bytesRead);
      },
    });
    for await (const item of items) {
      if (item.kind === 'rejected') {
        await reject(item.rejection);
        continue;
      }
      const { spec, line } = item.row;
      const result = renderProfile(spec, profileOptions);
      if (!result.ok) {
        await reject({ ...result.rejection, line, username: spec.username });
        continue;
      }
      valid++;
      await writeProfile(result.artifact);
      await manifest.write(`${JSON.stringify(toManifestEntry(spec, line, result.artifact, profileOptions))}\n`);
    }
    await Promise.all(inFlight);
    if (writeError) throw writeError;
    await manifest.commit();
    if (rejectedWriter) await rejectedWriter.commit();
    else await rm(rejectedPath, { force: true }); // a stale report from an earlier run would mislead
  } catch (error) {
    await Promise.allSettled(inFlight);
    await manifest.abort();
    await rejectedWriter?.abort();
    throw error;
  }
  return { valid, rejected, manifestPath, ...(rejectedWriter ? { rejectedPath } : {}) };
}
