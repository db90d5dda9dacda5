import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { type CsvEncoding, type RosterItem, type RosterOptions, readRoster } from '../csv/index.js';
import { FleetError } from '../errors/index.js';

export type RosterFileOptions = Omit<RosterOptions, 'file'> & {
  /** Label for messages; the path by default. */
  readonly file?: string;
  /** Called with each chunk read, in order (progress bars, the hash of exactly the bytes imported). */
  readonly onChunk?: (bytes: Uint8Array) => void;
  /**
   * With encoding `auto`: read the file once, as UTF-8, and throw NotUtf8Error at the first invalid byte (the
   * caller starts again as windows-1252), instead of a first pass over the whole file to decide.
   */
  readonly optimisticUtf8?: boolean;
};

/** The file is not valid UTF-8: read it again as windows-1252 (see optimisticUtf8). */
export class NotUtf8Error extends Error {
  constructor() {
    super('not valid UTF-8');
    this.name = 'NotUtf8Error';
  }
}

const UTF16_BOMS = [
  [0xff, 0xfe],
  [0xfe, 0xff],
];

function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const reasons: Record<string, string> = {
    ENOENT: 'no such file',
    EACCES: 'permission denied',
    EISDIR: 'is a directory',
    EMFILE: 'too many open files',
  };
  return (code && reasons[code]) ?? code ?? 'read error';
}

function unreadable(path: string, error: unknown): FleetError {
  return new FleetError('FR_ERR_FILE_UNREADABLE', `cannot read the CSV file (${describeFsError(error)})`, {
    file: path,
  });
}

/** Streams the file once with a fatal decoder: is the whole file valid UTF-8? (constant memory) */
async function isValidUtf8(path: string): Promise<boolean> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let first = true;
  try {
    for await (const chunk of createReadStream(path)) {
      const bytes = chunk as Buffer;
      if (first && UTF16_BOMS.some(([a, b]) => bytes[0] === a && bytes[1] === b)) return true; // decoded as UTF-16
      first = false;
      decoder.decode(bytes, { stream: true });
    }
    decoder.decode();
    return true;
  } catch (error) {
    if (error instanceof TypeError) return false;
    throw error;
  }
}

async function* readChunks(
  path: string,
  file: string,
  onChunk: ((bytes: Uint8Array) => void) | undefined,
  checkUtf8: boolean,
): AsyncGenerator<Uint8Array> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let check = checkUtf8;
  let first = true;
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024 })) {
      const bytes = chunk as Buffer;
      // A UTF-16 file (BOM) is decoded as such: nothing to check.
      if (first && UTF16_BOMS.some(([a, b]) => bytes[0] === a && bytes[1] === b)) check = false;
      first = false;
      if (check && !isUtf8Chunk(decoder, bytes, false)) throw new NotUtf8Error();
      onChunk?.(bytes);
      yield bytes;
    }
    if (check && !isUtf8Chunk(decoder, new Uint8Array(0), true)) throw new NotUtf8Error();
  } catch (error) {
    if (error instanceof NotUtf8Error) throw error;
    throw unreadable(file, error);
  }
}

function isUtf8Chunk(decoder: InstanceType<typeof TextDecoder>, bytes: Uint8Array, last: boolean): boolean {
  try {
    decoder.decode(bytes, { stream: !last });
    return true;
  } catch (error) {
    if (error instanceof TypeError) return false;
    throw error;
  }
}

/**
 * Edge of intake: opens a CSV path and streams it through readRoster. For `auto`, a first streaming pass decides
 * between UTF-8 and Windows-1252 for the whole file (so no row is decoded one way and the next another).
 */
export async function* readRosterFile(path: string, options: RosterFileOptions): AsyncGenerator<RosterItem> {
  const file = options.file ?? path;
  try {
    const handle = await open(path, 'r');
    const stat = await handle.stat();
    await handle.close();
    if (stat.isDirectory()) throw Object.assign(new Error('directory'), { code: 'EISDIR' });
  } catch (error) {
    throw unreadable(file, error);
  }
  let encoding: CsvEncoding = options.encoding;
  const optimistic = encoding === 'auto' && options.optimisticUtf8 === true;
  if (encoding === 'auto' && !optimistic) {
    let valid: boolean;
    try {
      valid = await isValidUtf8(path);
    } catch (error) {
      throw unreadable(file, error);
    }
    if (!valid) {
      options.onWarning?.(`${file}: not valid UTF-8, reading it as windows-1252 (use --encoding to choose)`);
      encoding = 'windows-1252';
    }
  }
  const { onChunk, optimisticUtf8: _, ...rosterOptions } = options;
  yield* readRoster(readChunks(path, file, onChunk, optimistic), { ...rosterOptions, file, encoding });
}
