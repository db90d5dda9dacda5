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

/** Printable ASCII only: the same bytes in every supported code page, so no round trip needed. */
const ASCII_ONLY = /^[\x20-\x7e]*$/;

export function isPrintableAscii(value: string): boolean {
  return ASCII_ONLY.test(value);
}

/**
 * The first character of `value` the code page cannot carry, found by round-tripping through iconv-lite
 * (its encoder would silently write `?`), or undefined when every character survives.
 */
export function findUnrepresentable(value: string, codepage: number): string | undefined {
  if (ASCII_ONLY.test(value)) return undefined;
  const name = iconvName(codepage);
  for (const char of value) {
    if (char.charCodeAt(0) < 0x80) continue;
    if (iconv.decode(iconv.encode(char, name), name) !== char) return char;
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
