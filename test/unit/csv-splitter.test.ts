import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitRecord } from '../../src/csv/index.js';

/** Splits a whole text, or the same text fed in pieces as the streaming reader does. */
function splitAll(text: string, delimiter: string, cuts: number[] = []): { fields: string[]; lines: number }[] {
  const records: { fields: string[]; lines: number }[] = [];
  let buffer = '';
  const pieces = [...cuts.filter((cut) => cut > 0 && cut < text.length).sort((a, b) => a - b), text.length];
  let from = 0;
  for (const cut of pieces) {
    buffer += text.slice(from, cut);
    from = cut;
    let position = 0;
    for (;;) {
      const result = splitRecord(buffer, position, delimiter, false);
      if (result.kind !== 'record') break;
      records.push({ fields: result.record.fields, lines: result.record.lines });
      position = result.next;
    }
    buffer = buffer.slice(position);
  }
  let position = 0;
  while (position < buffer.length) {
    const result = splitRecord(buffer, position, delimiter, true);
    if (result.kind !== 'record') throw new Error('unclosed quote in a well-formed file');
    records.push({ fields: result.record.fields, lines: result.record.lines });
    position = result.next;
  }
  return records;
}

const cellArb = fc.string({
  unit: fc.constantFrom('a', 'é', 'Ж', ' ', ',', ';', '\t', '"', '\r\n', '\n', '=', 'x'),
  maxLength: 12,
});
const quoteCell = (cell: string, delimiter: string): string =>
  cell.includes('"') || cell.includes('\n') || cell.includes('\r') || cell.includes(delimiter) || cell.startsWith(' ')
    ? `"${cell.replaceAll('"', '""')}"`
    : cell;

describe('record splitter', () => {
  it('agrees with csv-parse on any well-formed CSV, whole or cut in pieces, and counts physical lines', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(',', ';', '\t'),
        fc.array(fc.array(cellArb, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 8 }),
        fc.constantFrom('\n', '\r\n'),
        fc.array(fc.nat(400), { maxLength: 6 }),
        (delimiter, rows, eol, cuts) => {
          // A single empty cell would be a blank line, which csv-parse and we both keep as [''].
          const text = rows.map((row) => row.map((cell) => quoteCell(cell, delimiter)).join(delimiter)).join(eol) + eol;
          const expected = parse(text, {
            delimiter,
            record_delimiter: ['\r\n', '\n'],
            relax_column_count: true,
          }) as string[][];
          const whole = splitAll(text, delimiter);
          expect(whole.map((record) => record.fields)).toEqual(expected);
          expect(splitAll(text, delimiter, cuts)).toEqual(whole);
          const lineFeeds = (text.match(/\n/g) ?? []).length;
          expect(whole.reduce((sum, record) => sum + record.lines, 0)).toBe(lineFeeds);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('keeps a quote inside an unquoted field, and text after a closing quote', () => {
    expect(splitAll('ab"c,d\n"q"z,1\n', ',').map((record) => record.fields)).toEqual([
      ['ab"c', 'd'],
      ['qz', '1'],
    ]);
  });

  it('reports an unclosed quote at the end with the lines it spans', () => {
    expect(splitRecord('"abc,1\nx,y\n', 0, ',', true)).toEqual({ kind: 'unclosed-quote', lines: 3 });
    expect(splitRecord('"abc,1\nx,y\n', 0, ',', false)).toEqual({ kind: 'incomplete' });
  });

  it('waits for more text when a quote ends a chunk (it may be an escaped quote)', () => {
    expect(splitRecord('"a"', 0, ',', false)).toEqual({ kind: 'incomplete' });
    expect(splitRecord('"a"', 0, ',', true)).toMatchObject({ kind: 'record', record: { fields: ['a'], lines: 1 } });
  });
});
