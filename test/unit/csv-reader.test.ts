import { describe, expect, it } from 'vitest';
import type { RosterItem } from '../../src/csv/index.js';
import { FleetError } from '../../src/errors/index.js';
import { readBytes, readText } from '../helpers/read-roster-text.js';

const usernames = (items: RosterItem[]): string[] =>
  items.map((item) => (item.kind === 'accepted' ? item.row.spec.username : `!${item.rejection.line}`));
const lines = (items: RosterItem[]): number[] =>
  items.map((item) => (item.kind === 'accepted' ? item.row.line : item.rejection.line));

async function readError(text: string | Uint8Array, defaults = {}): Promise<FleetError> {
  const bytes = typeof text === 'string' ? new TextEncoder().encode(text) : text;
  try {
    await readBytes(bytes, { defaults });
  } catch (error) {
    if (error instanceof FleetError) return error;
    throw error;
  }
  throw new Error('expected the file to be refused');
}

/** Windows-1252 bytes of a Latin-1-range string (é = 0xE9, ü = 0xFC). */
const latin1 = (text: string): Uint8Array => Uint8Array.from(Array.from(text, (char) => char.charCodeAt(0)));

describe('file format', () => {
  it('strips a UTF-8 BOM before the header', async () => {
    const { items, warnings } = await readText('\ufeffusername,exchange_server,proxy\nalice,ex1,p.contoso.fr\n');
    expect(usernames(items)).toEqual(['alice']);
    expect(warnings).toEqual([]);
  });

  it('detects ; and TAB delimiters, and honours a forced delimiter', async () => {
    const semi = await readText(
      'username;exchange_server;proxy;display_name\nalice;ex1;p.contoso.fr;"Dupont, Alice"\n',
    );
    expect(semi.items[0]?.kind === 'accepted' && semi.items[0].row.spec.displayName).toBe('Dupont, Alice');
    const tab = await readText('username\texchange_server\tproxy\nbob\tex1\tp.contoso.fr\n');
    expect(usernames(tab.items)).toEqual(['bob']);
    // Forced `,` on a `;` file: one unknown column, so the required ones are missing.
    await expect(readText('username;exchange_server;proxy\na;b;c\n', { delimiter: ',' })).rejects.toMatchObject({
      code: 'FR_ERR_CSV_MISSING_COLUMNS',
    });
  });

  it('reads CRLF, LF and mixed line endings, with blank lines skipped but counted', async () => {
    const text =
      'username,exchange_server,proxy\r\nalice,ex1,p.contoso.fr\r\n\r\nbob,ex1,p.contoso.fr\n,,\ncarol,ex1,p.contoso.fr';
    const { items } = await readText(text);
    expect(usernames(items)).toEqual(['alice', 'bob', 'carol']);
    expect(lines(items)).toEqual([2, 4, 6]);
  });

  it('gives the physical start line of records after quoted multi-line fields (LF and CRLF)', async () => {
    const text =
      'username,exchange_server,proxy,display_name\r\n' +
      'alice,ex1,p.contoso.fr,"two\r\nlines"\r\n' +
      'bob,ex1,p.contoso.fr,"three\n\nlines, with ""quotes"""\n' +
      'carol,ex1,p.contoso.fr,plain\r\n';
    const { items } = await readText(text);
    expect(lines(items)).toEqual([2, 4, 7]);
    const [alice, bob, carol] = items;
    expect(alice?.kind === 'rejected' && alice.rejection).toMatchObject({
      column: 'display_name',
      value: 'two\\r\\nlines',
    });
    expect(bob?.kind === 'rejected' && bob.rejection.reason).toContain('control character \\n');
    expect(carol?.kind).toBe('accepted');
  });

  it('keeps delimiters and quotes inside quoted fields', async () => {
    const { items } = await readText(
      'username,exchange_server,proxy,profile_name\nalice,ex1,p.contoso.fr,"Out,look ""RPC"""\n',
    );
    expect(items[0]?.kind === 'accepted' && items[0].row.spec.profileName).toBe('Out,look "RPC"');
  });

  it('auto-detects Windows-1252 bytes with one warning, and reads them as declared', async () => {
    const bytes = latin1('username,exchange_server,proxy\nhélène,ex1,p.contoso.fr\nmüller,ex1,p.contoso.fr\n');
    const auto = await readBytes(bytes);
    expect(usernames(auto.items)).toEqual(['hélène', 'müller']);
    expect(auto.warnings).toEqual([expect.stringContaining('not valid UTF-8')]);
    expect(usernames((await readBytes(bytes, { encoding: 'windows-1252' })).items)).toEqual(['hélène', 'müller']);
    await expect(readBytes(bytes, { encoding: 'utf-8' })).rejects.toMatchObject({ code: 'FR_ERR_CSV_MALFORMED' });
  });

  it('decodes UTF-8 split at every byte boundary', async () => {
    const bytes = new TextEncoder().encode(
      '\ufeffusername;exchange_server;proxy\nhélène.dubois;ex1;p.contoso.fr\nЖанна;ex1;p.contoso.fr\n',
    );
    const { items, warnings } = await readBytes(bytes, { chunkSize: 1 });
    expect(usernames(items)).toEqual(['hélène.dubois', 'Жанна']);
    expect(warnings).toEqual([]);
  });

  it('reads UTF-16LE with BOM (Excel "Unicode text", TAB-separated)', async () => {
    const text = '\ufeffusername\texchange_server\tproxy\r\nzoé\tex1\tp.contoso.fr\r\n';
    const bytes = new Uint8Array(text.length * 2);
    for (let i = 0; i < text.length; i++) {
      bytes[i * 2] = text.charCodeAt(i) & 0xff;
      bytes[i * 2 + 1] = text.charCodeAt(i) >> 8;
    }
    expect(usernames((await readBytes(bytes, { chunkSize: 3 })).items)).toEqual(['zoé']);
  });

  it('warns once about unknown columns and ignores them; header names are case- and space-insensitive', async () => {
    const { items, warnings } = await readText(
      ' UserName , Exchange_Server,PROXY,shoe_size,Notes\nalice,ex1,p.contoso.fr,42,x\n',
    );
    expect(usernames(items)).toEqual(['alice']);
    expect(warnings).toEqual(['users.csv: ignoring unknown column(s): shoe_size, Notes']);
  });
});

describe('ragged and broken records', () => {
  it('rejects rows with more or fewer fields than the header, and goes on', async () => {
    const text = 'username,exchange_server,proxy\nalice,ex1\nbob,ex1,p.contoso.fr,extra\ncarol,ex1,p.contoso.fr\n';
    const { items } = await readText(text);
    expect(usernames(items)).toEqual(['!2', '!3', 'carol']);
    const [first, second] = items;
    expect(first?.kind === 'rejected' && first.rejection).toMatchObject({
      column: '*',
      code: 'FR_ERR_ROW_FIELD_COUNT',
      reason: 'the row has 2 field(s), the header has 3',
    });
    expect(second?.kind === 'rejected' && second.rejection.reason).toBe('the row has 4 field(s), the header has 3');
  });

  it('keeps stray quotes inside unquoted fields as characters (then the field rules judge them)', async () => {
    const { items } = await readText('username,exchange_server,proxy\nal"ice,ex1,p.contoso.fr\nbob,ex1,p.contoso.fr\n');
    expect(usernames(items)).toEqual(['!2', 'bob']);
  });

  it('rejects the line of an unclosed quote with the lines it would swallow, and reads every row after it', async () => {
    const rows = Array.from({ length: 48 }, (_, i) => `user${i + 4},ex1,p.contoso.fr`);
    const text = `username,exchange_server,proxy\nalice,ex1,p.contoso.fr\n"bob,ex1,p.contoso.fr\n${rows.join('\n')}\n`;
    const { items } = await readText(text);
    // 50 data lines: 49 valid + 1 rejected, every line accounted for at its own line number.
    expect(items).toHaveLength(50);
    expect(lines(items)).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
    expect(items.filter((item) => item.kind === 'accepted')).toHaveLength(49);
    expect(items[1]?.kind === 'rejected' && items[1].rejection).toEqual({
      line: 3,
      column: '*',
      value: '"bob,ex1,p.contoso.fr',
      code: 'FR_ERR_ROW_MALFORMED',
      reason:
        'a quote opened on this line is never closed (it would swallow lines 3–51, the rest of the file); ' +
        'only this line is rejected, reading goes on at line 4',
    });
  });

  it('rejects the line of a quote closed lines later by another stray quote, and reads the lines between', async () => {
    const text =
      'username,exchange_server,proxy,display_name\n' +
      'alice,ex1,p.contoso.fr,"Alice\n' + // opens a quote never meant to span lines
      'bob,ex1,p.contoso.fr,Bob\n' +
      '"carol",ex1,p.contoso.fr,Carol\n' + // its first quote closes alice's
      'dave,ex1,p.contoso.fr,Dave\n';
    const { items } = await readText(text);
    expect(usernames(items)).toEqual(['!2', 'bob', 'carol', 'dave']);
    expect(lines(items)).toEqual([2, 3, 4, 5]);
    expect(items[0]?.kind === 'rejected' && items[0].rejection.reason).toBe(
      'a quote opened on this line is only closed on line 4, which makes lines 2–4 one record of 7 field(s) ' +
        '(the header has 4); only this line is rejected, reading goes on at line 3',
    );
  });

  it('names the lines of a rejected record that spans several lines', async () => {
    const text =
      'username,exchange_server,proxy,display_name\n' +
      'alice,ex1,p.contoso.fr,"Alice\n' +
      'bob,ex1,p.contoso.fr,Bob\n' +
      'carol,ex1,p.contoso.fr,"Carol"\n' + // same column: the record has the header's width
      'dave,ex1,p.contoso.fr,Dave\n';
    const { items } = await readText(text);
    expect(usernames(items)).toEqual(['!2', 'dave']);
    expect(items[0]?.kind === 'rejected' && items[0].rejection.reason).toMatch(
      /^control character \\n at position 7 \(this record spans lines 2–4: a quote opened on line 2 is closed on line 4\)$/,
    );
  });

  it('keeps a legitimate multi-line quoted field whole (right field count)', async () => {
    const { items } = await readText(
      'username,exchange_server,proxy\n"ali\nce",ex1,p.contoso.fr\nbob,ex1,p.contoso.fr\n',
    );
    expect(usernames(items)).toEqual(['!2', 'bob']);
    expect(lines(items)).toEqual([2, 4]);
    expect(items[0]?.kind === 'rejected' && items[0].rejection.column).toBe('username');
  });

  it('an unclosed quote longer than 1 MiB gives up its line only, even when read in chunks', async () => {
    const filler = Array.from({ length: 60_000 }, (_, i) => `user${i},ex1,p.contoso.fr`).join('\r\n');
    const text = `username,exchange_server,proxy\r\n"bob,ex1,p.contoso.fr\r\n${filler}\r\n`;
    const { items } = await readText(text, { chunkSize: 16 * 1024 });
    expect(items).toHaveLength(60_001);
    expect(items[0]?.kind === 'rejected' && items[0].rejection.reason).toMatch(
      /^a quote opened on this line is not closed within 1 MiB \(it would swallow lines 2–\d+ at least\)/,
    );
    expect(items.slice(1).every((item) => item.kind === 'accepted')).toBe(true);
    expect(lines(items).at(-1)).toBe(60_002);
  });
});

describe('Excel exports', () => {
  it('honours a first line "sep=;" and counts it as line 1', async () => {
    const { items } = await readText('sep=;\r\nusername;exchange_server;proxy\r\nalice;ex1;p.contoso.fr\r\n');
    expect(usernames(items)).toEqual(['alice']);
    expect(lines(items)).toEqual([3]);
    const tab = await readText('SEP=\t\nusername\texchange_server\tproxy\nbob\tex1\tp.contoso.fr\n', { chunkSize: 3 });
    expect(usernames(tab.items)).toEqual(['bob']);
  });

  it('refuses a "sep=" line naming a delimiter it cannot read', async () => {
    const error = await readError('sep=|\nusername|exchange_server|proxy\na|b|c\n');
    expect(error.code).toBe('FR_ERR_CSV_MALFORMED');
    expect(error.message).toBe(
      'the first line "sep=" names "|" as the delimiter; fleet-rollout reads , ; or TAB (or pass --delimiter)',
    );
  });

  it('trims spaces around a username like the other columns, with one warning for the file', async () => {
    const text =
      'username,exchange_server,proxy\n' +
      'pmercier ,ex1,p.contoso.fr\n' +
      ' adupont,ex1,p.contoso.fr\n' +
      'bob,ex1,p.contoso.fr\n' +
      'carol\u00a0,ex1,p.contoso.fr\n' +
      'dave  ,ex1,p.contoso.fr\n';
    const { items, warnings } = await readText(text);
    expect(usernames(items)).toEqual(['pmercier', 'adupont', 'bob', 'carol', 'dave']);
    expect(warnings).toEqual([
      'users.csv: removed spaces around 4 username(s): line 2 "pmercier ", line 3 " adupont", ' +
        'line 5 "carol\u00a0", and 1 more',
    ]);
  });

  it('escapes unknown header names before printing them', async () => {
    const { warnings } = await readText(
      'username,exchange_server,proxy,"\u001b[31mred\u0007"\nalice,ex1,p.contoso.fr,x\n',
    );
    expect(warnings).toEqual(['users.csv: ignoring unknown column(s): \\x1b[31mred\\x07']);
  });
});

describe('whole-file problems', () => {
  it('refuses an empty file', async () => {
    const error = await readError('');
    expect(error.code).toBe('FR_ERR_CSV_EMPTY');
    expect(error.message).toContain('empty');
    expect(error.details['file']).toBe('users.csv');
    expect((await readError('\ufeff\n\n')).code).toBe('FR_ERR_CSV_EMPTY');
  });

  it('refuses a header with no data rows', async () => {
    const error = await readError('username,exchange_server,proxy\r\n\r\n');
    expect(error).toMatchObject({
      code: 'FR_ERR_CSV_EMPTY',
      message: 'the CSV file has a header row but no data rows',
    });
  });

  it('lists found and expected columns when required ones are missing', async () => {
    const error = await readError('username,email\nalice,a@contoso.fr\n');
    expect(error.code).toBe('FR_ERR_CSV_MISSING_COLUMNS');
    expect(error.message).toContain('missing column(s) exchange_server, proxy');
    expect(error.message).toContain('found: username, email');
    expect(error.message).toContain('expected: username, exchange_server, proxy');
    expect(error.details['file']).toBe('users.csv');
  });

  it('lets exchange_server and proxy come from the campaign defaults, but never username', async () => {
    const ok = await readBytes(new TextEncoder().encode('username\nalice\n'), {
      defaults: { exchange_server: 'ex1', proxy: 'p.contoso.fr' },
    });
    expect(usernames(ok.items)).toEqual(['alice']);
    const error = await readError('email\na@contoso.fr\n', {
      username: 'x',
      exchange_server: 'ex1',
      proxy: 'p.contoso.fr',
    });
    expect(error.message).toContain('missing column(s) username');
  });

  it('refuses a header naming a column twice', async () => {
    const error = await readError('username,proxy,Username\na,b,c\n');
    expect(error).toMatchObject({
      code: 'FR_ERR_CSV_MALFORMED',
      message: 'column "username" appears twice in the header',
    });
  });
});
