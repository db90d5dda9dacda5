/**
 * Character-level grammar shared by every column (pure). A value that passes here can never open a PRF line,
 * key or section, nor a path: control characters (C0, DEL, C1) and Unicode line/paragraph separators are refused.
 */

/** The control characters refused everywhere; findControlCharacter is the same test as a loop. */
export const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const CONTROL_GLOBAL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** Longest value quoted back in a rejection or a warning. */
export const MAX_SHOWN_CHARS = 60;

/** True for the code units CONTROL matches (a loop: cheaper than a regex call on the short cells of a roster). */
export function isControlCode(code: number): boolean {
  return code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029;
}

export function hasControlCharacter(value: string): boolean {
  return findControlCharacter(value) >= 0;
}

/** Index of the first control character, or -1 (same code units as CONTROL). */
export function findControlCharacter(value: string): number {
  for (let i = 0; i < value.length; i++) if (isControlCode(value.charCodeAt(i))) return i;
  return -1;
}

function escapeCharacter(char: string): string {
  switch (char) {
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
    default: {
      const code = char.charCodeAt(0);
      return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
    }
  }
}

/** Safe to print anywhere: truncated, control characters escaped (`\n`, `\x07`, `\u2028`). */
export function describeValue(value: string, max = MAX_SHOWN_CHARS): string {
  const chars = Array.from(value);
  const cut = chars.length > max ? `${chars.slice(0, max).join('')}…` : value;
  return cut.replace(CONTROL_GLOBAL, escapeCharacter);
}

/** Describes a control character for a reason text, e.g. `control character \x07 at position 4`. */
export function describeControlCharacter(value: string): string {
  const index = findControlCharacter(value);
  const char = value.charAt(index);
  return `control character ${escapeCharacter(char)} at position ${index + 1}`;
}

/** Unicode-aware length (a surrogate pair counts once, a lone surrogate once): what `for...of` would count. */
export function countCharacters(value: string): number {
  let pairs = 0;
  for (let i = 0; i < value.length - 1; i++) {
    const code = value.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        pairs++;
        i++;
      }
    }
  }
  return value.length - pairs;
}
