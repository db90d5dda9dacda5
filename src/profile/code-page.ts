import iconv from 'iconv-lite';

/**
 * Single-byte Windows ("ANSI") code pages a PRF may be written in. Double-byte pages (932, 936, 949, 950)
 * are left out on purpose: a lead byte could swallow the next character and nobody has tested them.
 */
export const SINGLE_BYTE_CODE_PAGES: readonly number[] = [874, 1250, 1251, 1252, 1253, 1254, 1255, 1256, 1257, 1258];

export function isSupportedCodePage(codepage: number): boolean {
  return SINGLE_BYTE_CODE_PAGES.includes(codepage);
}

export function codePageLabel(codepage: number): string {
  return codepage === 874 ? 'Windows-874' : `Windows-${codepage}`;
}

function iconvName(codepage: number): string {
  return `windows${codepage}`;
}

/**
 * Printable ASCII only (U+0020–U+007E): the same bytes in every supported code page, so no round trip needed.
 * A loop rather than a regex: it runs on every value of every profile.
 */
export function isPrintableAscii(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code > 0x7e) return false;
  }
  return true;
}

/** Per code page: whether a character (one code point) survives the iconv-lite round trip. Bounded. */
const roundTrips = new Map<number, Map<string, boolean>>();
const ROUND_TRIP_LIMIT = 4096;

/** True when `char` (one code point, not ASCII) encodes to a byte of the code page that decodes back to it. */
function survivesRoundTrip(char: string, codepage: number): boolean {
  let known = roundTrips.get(codepage);
  if (known === undefined) {
    known = new Map();
    roundTrips.set(codepage, known);
  }
  const cached = known.get(char);
  if (cached !== undefined) return cached;
  const name = iconvName(codepage);
  const survives = iconv.decode(iconv.encode(char, name), name) === char;
  if (known.size >= ROUND_TRIP_LIMIT) known.clear();
  known.set(char, survives);
  return survives;
}

/**
 * The first character of `value` the code page cannot carry, found by round-tripping it through iconv-lite
 * (its encoder would silently write `?`), or undefined when every character survives. The round trip of each
 * character is remembered per code page: the answer depends on nothing else.
 */
export function findUnrepresentable(value: string, codepage: number): string | undefined {
  if (isPrintableAscii(value)) return undefined;
  for (const char of value) {
    if (char.charCodeAt(0) < 0x80) continue;
    if (!survivesRoundTrip(char, codepage)) return char;
  }
  return undefined;
}

export function encodeCodePage(text: string, codepage: number): Uint8Array {
  return iconv.encode(text, iconvName(codepage));
}

export function decodeCodePage(bytes: Uint8Array, codepage: number): string {
  return iconv.decode(bytes, iconvName(codepage));
}

/** `'é' (U+00E9)` — how a character is named in a rejection reason. */
export function describeChar(char: string): string {
  const code = char.codePointAt(0) ?? 0;
  return `'${char}' (U+${code.toString(16).toUpperCase().padStart(4, '0')})`;
}
