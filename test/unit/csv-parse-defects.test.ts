import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { readText } from '../helpers/read-roster-text.js';

/**
 * csv-parse 7 defects measured against the intake rules, each with the workaround src/csv/csv-records.ts keeps on
 * top of the library (docs/architecture.md). Each test pins the library's current behaviour next to ours: when a
 * csv-parse upgrade fixes one, its test fails and the workaround can go.
 */
describe('csv-parse defects and their workarounds', () => {
  const lineOf = (item: { kind: string; row?: { line: number }; rejection?: { line: number } }): number =>
    (item.kind === 'accepted' ? item.row?.line : item.rejection?.line) ?? 0;

  it('info.lines counts a CRLF inside quotes as two lines; our start lines count physical lines', async () => {
    const text =
      'username,exchange_server,proxy,display_name\r\nalice,ex1,p.contoso.fr,"two\r\nlines"\r\nbob,ex1,p.contoso.fr,Bob\r\n';
    const records = parse(text, { info: true, record_delimiter: ['\r\n', '\n'] }) as unknown as Array<{
      info: { lines: number };
    }>;
    // Physical end lines are 1, 3, 4: csv-parse says 4 and 5 for the records after the quoted CRLF.
    expect(records.map((record) => record.info.lines)).toEqual([1, 4, 5]);
    const { items } = await readText(text);
    expect(items.map(lineOf)).toEqual([2, 4]);
  });

  it('raw drops the LF of a CRLF record delimiter (so raw text cannot count lines either)', () => {
    const records = parse('a,b\r\nc,d\ne,f', { raw: true, record_delimiter: ['\r\n', '\n'] }) as unknown as Array<{
      raw: string;
    }>;
    expect(records.map((record) => record.raw)).toEqual(['a,b\r', 'c,d\n', 'e,f']);
  });

  it('auto-detected record delimiters fail on a file mixing CRLF and LF; we give both', async () => {
    expect(() => parse('a,b\r\nc,d\ne,f\r\n')).toThrow(/Invalid Record Length/);
    expect(parse('a,b\nc,d\r\ne,f\n')).toEqual([
      ['a', 'b'],
      ['c', 'd\r'],
      ['e', 'f'],
    ]);
    const { items } = await readText(
      'username,exchange_server,proxy\r\nalice,ex1,p.contoso.fr\nbob,ex1,p.contoso.fr\r\ncarol,ex1,p.contoso.fr\n',
    );
    expect(items.map((item) => item.kind === 'accepted' && item.row.spec.username)).toEqual(['alice', 'bob', 'carol']);
  });

  it('skip_records_with_error loses every record after a bad one; we reject one line and read on', async () => {
    expect(parse('a,b\n"x"y,1\nc,2\nd,3\n', { skip_records_with_error: true })).toEqual([['a', 'b']]);
    expect(parse('a,b\n"x,1\nc,2\nd,3\n', { skip_records_with_error: true })).toEqual([['a', 'b']]);
    const { items } = await readText(
      'username,exchange_server,proxy\n"bob,ex1,p.contoso.fr\ncarol,ex1,p.contoso.fr\ndave,ex1,p.contoso.fr\n',
    );
    expect(items.map((item) => (item.kind === 'accepted' ? item.row.spec.username : `!${lineOf(item)}`))).toEqual([
      '!2',
      'carol',
      'dave',
    ]);
  });
});
