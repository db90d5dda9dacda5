/**
 * Defence in depth for every value the renderer writes (the CSV grammar already enforces this):
 * a PRF line ends at CR or LF, so a value carrying one could open a key or a section.
 * Also refused: other control characters (C0, DEL, C1 — NEL U+0085 is a line break to some readers),
 * U+2028/U+2029, lone surrogates (cannot be encoded), and what the INI reader would alter:
 * surrounding blanks (trimmed) and surrounding quotes (stripped by GetPrivateProfileString).
 */
const UNSAFE_CHAR = /[\p{Cc}\u2028\u2029\p{Cs}]/u;

export function findUnsafeReason(value: string, printableAscii = false): string | undefined {
  if (value.length === 0) return 'is empty';
  // Printable ASCII has no control character by definition: skip the Unicode scan.
  const unsafe = printableAscii ? null : UNSAFE_CHAR.exec(value);
  if (unsafe) {
    const code = unsafe[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    return `contains the control character U+${code}, which could open a new PRF line, key or section`;
  }
  if (value.trim() !== value) return 'has leading or trailing blanks, which the PRF reader trims';
  const first = value[0];
  if (value.length > 1 && (first === '"' || first === "'") && value.endsWith(first)) {
    return 'is wrapped in quotes, which the PRF reader strips';
  }
  return undefined;
}

const NOT_IN_FILE_NAME = /[\\/:*?"<>|]/;

/**
 * A file name component: no path separators, no `.`/`..`, nothing Windows refuses in a name.
 * `printableAscii`: the caller already knows `name` is printable ASCII (skips the control-character scan).
 */
export function findUnsafeFileNameReason(name: string, printableAscii = false): string | undefined {
  const base = findUnsafeReason(name, printableAscii);
  if (base) return base;
  if (name === '.' || name === '..') return 'is a relative path';
  if (NOT_IN_FILE_NAME.test(name)) return 'contains a character that is not allowed in a file name';
  return undefined;
}
