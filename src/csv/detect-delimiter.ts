/** Delimiter auto-detection among `,` `;` TAB (French Excel writes `;`), from the header line (pure). */
export type Delimiter = ',' | ';' | '\t';

export const DELIMITERS: readonly Delimiter[] = [',', ';', '\t'];

/** Counts each candidate outside quotes in the first record; the most frequent wins, ties go to `,` then `;`. */
export function detectDelimiter(text: string): Delimiter {
  const counts = new Map<Delimiter, number>(DELIMITERS.map((d) => [d, 0]));
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charAt(i);
    if (char === '"') quoted = !quoted;
    else if (!quoted && (char === '\n' || char === '\r')) break;
    else if (!quoted && counts.has(char as Delimiter))
      counts.set(char as Delimiter, (counts.get(char as Delimiter) ?? 0) + 1);
  }
  let best: Delimiter = ',';
  for (const delimiter of DELIMITERS) {
    if ((counts.get(delimiter) ?? 0) > (counts.get(best) ?? 0)) best = delimiter;
  }
  return best;
}

/** Parses the `--delimiter` option: `,`, `;`, TAB, or the words comma, semicolon, tab, `\t`. */
export function parseDelimiterOption(value: string): Delimiter | undefined {
  const words: Record<string, Delimiter> = {
    ',': ',',
    ';': ';',
    '\t': '\t',
    '\\t': '\t',
    comma: ',',
    semicolon: ';',
    tab: '\t',
  };
  return words[value.toLowerCase()];
}
