import { FleetError } from '../errors/index.js';

/**
 * Bytes → text for the CSV reader (pure, streaming). `auto` reads UTF-8 (BOM stripped) and falls back to
 * Windows-1252 with a warning when the bytes are not valid UTF-8; a UTF-16 BOM (Excel's "Unicode text") is honoured.
 * The file adapter pre-scans the whole file for `auto`, so the mid-stream switch here is only a safety net.
 */
export type CsvEncoding = 'auto' | 'utf-8' | 'windows-1252';

export interface DecodeOptions {
  readonly encoding: CsvEncoding;
  readonly file: string;
  readonly onWarning?: (message: string) => void;
}

/** Bytes at the end of `bytes` that start a UTF-8 sequence not yet complete. */
function countIncompleteTail(bytes: Uint8Array): number {
  const end = bytes.length;
  for (let back = 1; back <= Math.min(3, end); back++) {
    const byte = bytes[end - back] ?? 0;
    if ((byte & 0xc0) === 0x80) continue;
    const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return prefix.every((byte, index) => bytes[index] === byte);
}

export async function* decodeChunks(chunks: AsyncIterable<Uint8Array>, options: DecodeOptions): AsyncGenerator<string> {
  const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  const cp1252 = new TextDecoder('windows-1252');
  let streaming: InstanceType<typeof TextDecoder> | undefined =
    options.encoding === 'windows-1252' ? cp1252 : undefined;
  let first = true;
  let carry: Uint8Array = new Uint8Array(0);
  let offset = 0;
  for await (const chunk of chunks) {
    let bytes = concat(carry, chunk);
    carry = new Uint8Array(0);
    if (first) {
      if (bytes.length < 3 && !streaming) {
        carry = bytes; // too short to see a BOM yet
        continue;
      }
      first = false;
      if (options.encoding === 'auto' && (startsWith(bytes, [0xff, 0xfe]) || startsWith(bytes, [0xfe, 0xff]))) {
        streaming = new TextDecoder(bytes[0] === 0xff ? 'utf-16le' : 'utf-16be');
      } else if (!streaming && startsWith(bytes, [0xef, 0xbb, 0xbf])) {
        bytes = bytes.subarray(3);
        offset = 3;
      }
    }
    if (streaming) {
      const text = streaming.decode(bytes, { stream: true });
      if (text) yield text;
      continue;
    }
    const tail = countIncompleteTail(bytes);
    const whole = bytes.subarray(0, bytes.length - tail);
    try {
      const text = utf8.decode(whole);
      if (text) yield text;
      carry = bytes.slice(bytes.length - tail);
      offset += whole.length;
    } catch {
      if (options.encoding === 'utf-8') {
        throw new FleetError(
          'FR_ERR_CSV_MALFORMED',
          `not valid UTF-8 (near byte ${offset}); try --encoding windows-1252`,
          { file: options.file },
        );
      }
      options.onWarning?.(`${options.file}: not valid UTF-8 (near byte ${offset}), reading it as windows-1252`);
      streaming = cp1252;
      const text = streaming.decode(bytes, { stream: true });
      if (text) yield text;
    }
  }
  if (streaming) {
    const text = streaming.decode(new Uint8Array(0));
    if (text) yield text;
    return;
  }
  if (carry.length === 0) return;
  // A file shorter than 3 bytes, or an incomplete UTF-8 sequence at the very end.
  if (first && options.encoding === 'auto' && (startsWith(carry, [0xff, 0xfe]) || startsWith(carry, [0xfe, 0xff])))
    return;
  try {
    const text = utf8.decode(carry);
    if (text) yield text;
  } catch {
    if (options.encoding === 'utf-8') {
      throw new FleetError('FR_ERR_CSV_MALFORMED', `not valid UTF-8 (near byte ${offset})`, { file: options.file });
    }
    options.onWarning?.(`${options.file}: not valid UTF-8 (near byte ${offset}), reading it as windows-1252`);
    yield cp1252.decode(carry);
  }
}
