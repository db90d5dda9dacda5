/**
 * Character-level grammar shared by every column (pure). A value that passes here can never open a PRF line,
 * key or section, nor a path: control characters (C0, DEL, C1) and Unicode line/paragraph separators are refused.
 */

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const CONTROL_GLOBAL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** Longest value quoted back in a rejection or a warning. */
export const MAX_SHOWN_CHARS = 60;

export function hasControlCharacter(value: string): boolean {
  return CONTROL.test(value);
}

/** Index of the first control character, or -1. */
export function findControlCharacter(value: string): number {
  return value.search(CONTROL);
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

/** Unicode-aware length (a surrogate pair counts once). */
export function countCharacters(value: string): number {
  let count = 0;
  for (const _ of value) count++;
  return count;
}
