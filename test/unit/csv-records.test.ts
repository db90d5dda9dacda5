import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type CsvItem, readCsvRecords } from '../../src/csv/index.js';

async function* pieces(text: string, cuts: number[]): AsyncGenerator<string> {
  let from = 0;
  for (const cut of [...cuts.filter((at) => at > 0 && at < text.length).sort((a, b) => a - b), text.length]) {
    yield text.slice(from, cut);
    from = cut;
  }
}

async function readAll(text: string, delimiter: string, cuts: number[] = []): Promise<CsvItem[]> {
  const items: CsvItem[] = [];
  for await (const item of readCsvRecords(pieces(text, cuts), { delimiter })) items.push(item);
  return items;
}

const cellArb = fc.string({
  unit: fc.constantFrom('a', 'é', 'Ж', ' ', ',', ';', '\t', '"', '\r\n', '\n', '=', 'x'),
  maxLength: 12,
});
const quoteCell = (cell: string, delimiter: string): string =>
  cell.includes('"') || cell.includes('\n') || cell.includes('\r') || cell.includes(delimiter) || cell.startsWith(' ')
    ? `"${cell.replaceAll('"', '""')}"`
    : cell;

describe('CSV records (csv-parse, with the quote-free line bypass)', () => {
  it('yields exactly csv-parse’s records on files mixing CRLF and LF, whole or cut anywhere, at their start lines', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(',', ';', '\t'),
        fc.array(
          fc.record({
            cells: fc.array(cellArb, { minLength: 1, maxLength: 5 }),
            eol: fc.constantFrom('\n', '\r\n'), // each row its own line ending: one file mixes both
            quoteAll: fc.boolean(),
          }),
          { minLength: 1, maxLength: 8 },
        ),
        fc.array(fc.nat(400), { maxLength: 6 }),
        async (delimiter, rows, cuts) => {
          let text = '';
          const startLines: number[] = [];
          let line = 1;
          for (const row of rows) {
            const cells = row.cells.map((cell) =>
              row.quoteAll ? `"${cell.replaceAll('"', '""')}"` : quoteCell(cell, delimiter),
            );
            const serialized = cells.join(delimiter) + row.eol;
            startLines.push(line);
            line += (serialized.match(/\n/g) ?? []).length;
            text += serialized;
          }
          const expected = parse(text, {
            delimiter,
            record_delimiter: ['\r\n', '\n'],
            relax_column_count: true,
          }) as string[][];
          const whole = await readAll(text, delimiter);
          expect(whole.every((item) => item.kind === 'record')).toBe(true);
          expect(whole.map((item) => (item.kind === 'record' ? item.fields : []))).toEqual(expected);
          expect(whole.map((item) => item.line)).toEqual(startLines);
          expect(await readAll(text, delimiter, cuts)).toEqual(whole);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('gives up only the line of an unclosed quote and reads on', async () => {
    const items = await readAll('a,b\r\n"x,1\r\nc,2\nd,3\n', ',');
    expect(items).toEqual([
      { kind: 'record', fields: ['a', 'b'], line: 1, lines: 1 },
      { kind: 'unclosed-quote', line: 2, lastLine: 4, text: '"x,1', swallowed: 'end-of-file' },
      { kind: 'record', fields: ['c', '2'], line: 3, lines: 1 },
      { kind: 'record', fields: ['d', '3'], line: 4, lines: 1 },
    ]);
  });

  it('keeps a quote inside an unquoted field as a character; csv-parse keeps the quotes of text after a closing one', async () => {
    const items = await readAll('ab"c,d\n"q"z,1\n', ',');
    expect(items.map((item) => item.kind === 'record' && item.fields)).toEqual([
      ['ab"c', 'd'],
      ['"q"z', '1'],
    ]);
  });

  it('reports a line longer than the limit with no line break', async () => {
    const items: CsvItem[] = [];
    const long = async function* (): AsyncGenerator<string> {
      yield 'a,b\n';
      for (let i = 0; i < 5; i++) yield 'x'.repeat(100);
    };
    for await (const item of readCsvRecords(long(), { delimiter: ',', maxRecordChars: 300 })) {
      items.push(item);
      if (item.kind === 'line-too-long') break;
    }
    expect(items.at(-1)).toEqual({ kind: 'line-too-long', line: 2 });
  });
});
