import { decodeCodePage } from './code-page.js';

export type PrfEncoding = 'utf-16le-bom' | 'utf-8-bom' | 'utf-8' | 'ansi';
export type LineEndings = 'crlf' | 'lf' | 'mixed';

export interface DecodedPrf {
  readonly encoding: PrfEncoding;
  readonly text: string;
  /** UTF-16 big-endian BOM seen (decoded anyway; Outlook is not known to read it). */
  readonly bigEndian: boolean;
  /** Text had NUL characters (typically UTF-16 without a BOM). */
  readonly hasNul: boolean;
}

const UTF8_STRICT = new TextDecoder('utf-8', { fatal: true });

/**
 * Works out how a PRF's bytes are encoded, the way a human would: BOM first (FF FE = UTF-16LE, as the Office
 * Customization Tool writes; EF BB BF = UTF-8), then valid UTF-8 with non-ASCII bytes = UTF-8, else ANSI
 * (decoded as Windows-1252 unless told another code page: the bytes alone cannot say which).
 */
export function decodePrfBytes(bytes: Uint8Array, ansiCodePage = 1252): DecodedPrf {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) {
    return finish('utf-16le-bom', new TextDecoder('utf-16le').decode(bytes.subarray(2)), false);
  }
  if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    return finish('utf-16le-bom', new TextDecoder('utf-16be').decode(bytes.subarray(2)), true);
  }
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    return finish('utf-8-bom', new TextDecoder('utf-8').decode(bytes.subarray(3)), false);
  }
  if (!hasHighByte(bytes)) return finish('ansi', decodeCodePage(bytes, 1252), false);
  try {
    const text = UTF8_STRICT.decode(bytes);
    // C1 controls are never meant in a PRF: valid-looking UTF-8 that yields them is ANSI by chance (cp1251 "В…").
    if (!/[\x80-\x9f]/.test(text)) return finish('utf-8', text, false);
  } catch {
    // Not UTF-8: ANSI.
  }
  return finish('ansi', decodeCodePage(bytes, ansiCodePage), false);
}

/** How lines end: CRLF everywhere, LF everywhere, or a mixture (a lone CR counts as mixed). */
export function detectLineEndings(text: string): { endings: LineEndings; firstOddLine: number | undefined } {
  let crlf = 0;
  let lf = 0;
  let loneCr = 0;
  let line = 1;
  let firstLf: number | undefined;
  let firstCrlf: number | undefined;
  let firstLoneCr: number | undefined;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 13) {
      if (text.charCodeAt(i + 1) === 10) {
        crlf++;
        firstCrlf ??= line;
        i++;
      } else {
        loneCr++;
        firstLoneCr ??= line;
      }
      line++;
    } else if (code === 10) {
      lf++;
      firstLf ??= line;
      line++;
    }
  }
  if (loneCr > 0) return { endings: 'mixed', firstOddLine: firstLoneCr };
  if (lf > 0 && crlf > 0) {
    // The minority kind is the odd one.
    return { endings: 'mixed', firstOddLine: lf <= crlf ? firstLf : firstCrlf };
  }
  return { endings: lf > 0 ? 'lf' : 'crlf', firstOddLine: lf > 0 ? firstLf : undefined };
}

function finish(encoding: PrfEncoding, text: string, bigEndian: boolean): DecodedPrf {
  return { encoding, text, bigEndian, hasNul: text.includes('\u0000') };
}

function hasHighByte(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if ((bytes[i] ?? 0) >= 0x80) return true;
  return false;
}
