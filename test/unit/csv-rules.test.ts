import { describe, expect, it } from 'vitest';
import type { RosterItem, UserSpec } from '../../src/csv/index.js';
import { readOne, readText } from '../helpers/read-roster-text.js';

function accepted(item: RosterItem): UserSpec {
  if (item.kind !== 'accepted') throw new Error(`rejected: ${item.rejection.column}: ${item.rejection.reason}`);
  return item.row.spec;
}

async function rejectionOf(columns: Record<string, string>) {
  const item = await readOne(columns);
  if (item.kind !== 'rejected') throw new Error(`accepted: ${JSON.stringify(item.row.spec)}`);
  return item.rejection;
}

describe('row defaults', () => {
  it('fills every optional column with its documented default', async () => {
    const spec = accepted(await readOne({}));
    expect(spec).toEqual({
      username: 'jdupont',
      mailbox: 'jdupont',
      exchangeServer: 'exch01',
      proxyHost: 'mail.contoso.fr',
      ssl: true,
      auth: 'ntlm',
      mutualAuth: false,
      httpFirstFast: false,
      httpFirstSlow: true,
      office: '11.0',
      profileName: 'Outlook',
    });
  });

  it('reads every column of a complete row', async () => {
    const spec = accepted(
      await readOne({
        email: 'j.dupont@contoso.fr',
        display_name: 'Jean Dupont',
        mailbox: 'Jean Dupont',
        auth: 'BASIC',
        mutual_auth: 'Yes',
        principal: 'msstd:*.contoso.fr',
        http_first_fast: 'true',
        http_first_slow: '0',
        host: 'WS-0001.demo.lan',
        site: 'paris',
        office: '2010',
        profile_name: 'Outlook RPC',
      }),
    );
    expect(spec).toMatchObject({
      email: 'j.dupont@contoso.fr',
      displayName: 'Jean Dupont',
      mailbox: 'Jean Dupont',
      auth: 'basic',
      mutualAuth: true,
      principal: 'msstd:*.contoso.fr',
      httpFirstFast: true,
      httpFirstSlow: false,
      host: 'ws-0001.demo.lan',
      site: 'paris',
      office: '14.0',
      profileName: 'Outlook RPC',
    });
  });

  it('takes campaign defaults for absent columns and empty cells, the cell winning otherwise', async () => {
    const text = 'username,proxy,office\nalice,,2016\nbob,https://other.contoso.fr,\n';
    const { items } = await readText(text, {
      defaults: { exchange_server: 'exch02.contoso.fr', proxy: 'mail.contoso.fr', office: 2007, mutual_auth: true },
    });
    const [alice, bob] = items.map(accepted);
    expect(alice).toMatchObject({ exchangeServer: 'exch02.contoso.fr', proxyHost: 'mail.contoso.fr', office: '16.0' });
    expect(alice?.principal).toBe('msstd:mail.contoso.fr');
    expect(bob).toMatchObject({ proxyHost: 'other.contoso.fr', office: '12.0', principal: 'msstd:other.contoso.fr' });
  });
});

describe('username', () => {
  it.each([
    ['a"b', 'character " is not allowed'],
    ['a/b', 'character / is not allowed'],
    ['a\\b\\c', 'DOMAIN\\name: character \\ is not allowed'],
    ['\\adupont', 'DOMAIN\\name: the domain must be a NetBIOS name'],
    ['CORP\\CON', 'CON is a device name Windows reserves'],
    ['a[b', 'character [ is not allowed'],
    ['a]b', 'character ] is not allowed'],
    ['a:b', 'character : is not allowed'],
    ['a;b', 'character ; is not allowed'],
    ['a|b', 'character | is not allowed'],
    ['a=b', 'character = is not allowed'],
    ['a,b', 'character , is not allowed'],
    ['a+b', 'character + is not allowed'],
    ['a*b', 'character * is not allowed'],
    ['a?b', 'character ? is not allowed'],
    ['a<b', 'character < is not allowed'],
    ['a>b', 'character > is not allowed'],
    ['a@b@c.fr', 'user principal name: one @ only'],
    ['a@-c.fr', 'user principal name suffix'],
    ['CON', 'CON is a device name Windows reserves'],
    ['nul.txt', 'NUL is a device name Windows reserves'],
    ['com1', 'COM1 is a device name Windows reserves'],
    ['Lpt9', 'LPT9 is a device name Windows reserves'],
    ['jdupont.', 'must not start or end with a space or a dot'],
    ['.jdupont', 'must not start or end with a space or a dot'],
    ['x'.repeat(65), 'must be 1 to 64 characters (has 65)'],
    ['a\tb', 'control character \\t at position 2'],
    ['a\u0007b', 'control character \\x07 at position 2'],
    ['a\u0085b', 'control character \\x85 at position 2'],
  ])('rejects %j', async (username, reason) => {
    const rejection = await rejectionOf({ username });
    expect(rejection.column).toBe('username');
    expect(rejection.reason).toContain(reason);
    expect(rejection.line).toBe(2);
    expect(rejection.code).toBe('FR_ERR_ROW_FIELD_INVALID');
  });

  it('accepts Unicode letters, 64 characters and inner spaces and dots', async () => {
    for (const username of ['hélène.dubois', 'Jean Dupont', 'x'.repeat(64), 'Жанна', '王伟']) {
      expect(accepted(await readOne({ username })).username).toBe(username);
    }
  });

  it('accepts DOMAIN\\name and UPN user names; the mailbox then defaults to the account part', async () => {
    const domain = accepted(await readOne({ username: 'CORP\\adupont' }));
    expect(domain).toMatchObject({ username: 'CORP\\adupont', mailbox: 'adupont' });
    const upn = accepted(await readOne({ username: 'adupont@corp.contoso.fr' }));
    expect(upn).toMatchObject({ username: 'adupont@corp.contoso.fr', mailbox: 'adupont' });
    // Names that only look like device names are fine.
    expect(accepted(await readOne({ username: 'console' })).username).toBe('console');
  });

  it('rejects an empty username as required', async () => {
    const rejection = await rejectionOf({ username: '' });
    expect(rejection).toMatchObject({
      column: 'username',
      code: 'FR_ERR_ROW_FIELD_REQUIRED',
      reason: 'username is required',
    });
  });

  it('rejects a later duplicate, case-insensitively and after NFC normalisation, naming the first line', async () => {
    const text = `username,exchange_server,proxy\nHélène,ex1,p.contoso.fr\nbob,ex1,p.contoso.fr\nHE\u0301LE\u0300NE,ex1,p.contoso.fr\nBOB,ex1,p.contoso.fr\n`;
    const { items } = await readText(text);
    expect(items.map((item) => item.kind)).toEqual(['accepted', 'accepted', 'rejected', 'rejected']);
    const [, , third, fourth] = items;
    expect(third?.kind === 'rejected' && third.rejection).toMatchObject({
      line: 4,
      column: 'username',
      code: 'FR_ERR_ROW_DUPLICATE',
      reason: 'duplicate username (first seen on line 2)',
    });
    expect(fourth?.kind === 'rejected' && fourth.rejection.reason).toBe('duplicate username (first seen on line 3)');
    expect(fourth?.kind === 'rejected' && fourth.rejection.username).toBeUndefined();
  });

  it('keeps the username on rejections of other columns (for skipped records)', async () => {
    expect((await rejectionOf({ auth: 'kerberos' })).username).toBe('jdupont');
  });
});

describe('other columns', () => {
  it('accepts an SMTP address or a legacyExchangeDN as mailbox (unambiguous, unlike a prefix-matched alias)', async () => {
    const dn = '/o=Contoso/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=adupont';
    for (const mailbox of ['adupont@contoso.fr', dn]) {
      expect(accepted(await readOne({ mailbox })).mailbox).toBe(mailbox);
    }
  });

  it.each([
    [{ email: 'not-an-address' }, 'email', 'not an e-mail address'],
    [{ email: 'a..b@contoso.fr' }, 'email', 'invalid local part'],
    [{ email: 'a@contoso' }, 'email', 'not a fully-qualified domain name'],
    [{ display_name: 'Jean\nDupont' }, 'display_name', 'control character \\n'],
    [{ mailbox: 'a/b' }, 'mailbox', 'character / is not allowed'],
    [{ mailbox: 'a@contoso' }, 'mailbox', 'not a fully-qualified domain name'],
    [{ mailbox: '/o=Contoso/ou=x/cn=' }, 'mailbox', 'not a legacyExchangeDN'],
    [{ exchange_server: 'exch_01' }, 'exchange_server', 'not a valid RFC 1123 label'],
    [{ exchange_server: 'averyveryverylongname' }, 'exchange_server', 'a NetBIOS name has at most 15 characters'],
    [{ exchange_server: '-exch.contoso.fr' }, 'exchange_server', 'not a valid RFC 1123 label'],
    [{ exchange_server: 'exch..contoso.fr' }, 'exchange_server', 'empty label'],
    [{ proxy: 'mail.contoso.fr:443' }, 'proxy', 'a port is not allowed'],
    [{ proxy: 'https://mail.contoso.fr:8443' }, 'proxy', 'a port is not allowed'],
    [{ proxy: 'https://mail.contoso.fr/rpc' }, 'proxy', 'a path is not allowed'],
    [{ proxy: 'https://mail.contoso.fr?x=1' }, 'proxy', 'a query is not allowed'],
    [{ proxy: 'https://user@mail.contoso.fr' }, 'proxy', 'user-info (user@) is not allowed'],
    [{ proxy: 'ftp://mail.contoso.fr' }, 'proxy', 'scheme "ftp" is not http or https'],
    [{ proxy: 'https://mail_contoso.fr' }, 'proxy', 'proxy host: label'],
    [{ auth: 'kerberos' }, 'auth', 'expected ntlm or basic'],
    [{ proxy: 'http://mail.contoso.fr', auth: 'basic' }, 'auth', 'Basic authentication needs SSL'],
    [{ mutual_auth: 'maybe' }, 'mutual_auth', 'expected yes/no'],
    [{ proxy: 'http://mail.contoso.fr', mutual_auth: 'yes' }, 'mutual_auth', 'mutual authentication needs SSL'],
    [{ mutual_auth: 'yes', principal: 'mail.contoso.fr' }, 'principal', 'must start with msstd:'],
    [{ mutual_auth: 'yes', principal: 'msstd:mail' }, 'principal', 'not a fully-qualified domain name'],
    [{ mutual_auth: 'yes', principal: 'msstd:*.com' }, 'principal', 'not a fully-qualified domain name'],
    [{ mutual_auth: 'yes', principal: 'msstd:mail.contoso.fr:443' }, 'principal', 'not a valid RFC 1123 label'],
    [{ http_first_fast: 'oui' }, 'http_first_fast', 'expected yes/no'],
    [{ http_first_slow: '2' }, 'http_first_slow', 'expected yes/no'],
    [{ host: 'ws 01' }, 'host', 'not a valid RFC 1123 label'],
    [{ host: '10.0.0.256' }, 'host', 'not a valid IPv4 address'],
    [{ host: 'fe80::1::2' }, 'host', 'not a valid IPv6 address'],
    // brackets are URL notation: as a host name they would be looked up in DNS and retried for days
    [{ host: '[::1]' }, 'host', 'write the IPv6 address without brackets (::1)'],
    [{ host: '[2001:db8::7]' }, 'host', 'without brackets (2001:db8::7)'],
    [{ host: '[ws1]' }, 'host', 'brackets are not part of a host name'],
    [{ site: 'paris:nord' }, 'site', 'site must be 1 to 64 letters'],
    [{ office: '2000' }, 'office', 'expected 2003, 2007, 2010, 2013, 2016'],
    [{ office: '13.0' }, 'office', 'expected 2003'],
    [{ profile_name: 'Out\rlook' }, 'profile_name', 'control character \\r'],
    [{ profile_name: 'x'.repeat(65) }, 'profile_name', 'longer than 64 characters'],
  ])('%j → %s: %s', async (columns, column, reason) => {
    const rejection = await rejectionOf(columns);
    expect(rejection.column).toBe(column);
    expect(rejection.reason).toContain(reason);
    expect(rejection.code).toBe('FR_ERR_ROW_FIELD_INVALID');
  });

  it('reads proxies: https and bare host are SSL, http is not; scheme and host are case-insensitive', async () => {
    expect(accepted(await readOne({ proxy: 'HTTPS://Mail.Contoso.FR/' }))).toMatchObject({
      proxyHost: 'mail.contoso.fr',
      ssl: true,
    });
    expect(accepted(await readOne({ proxy: 'mail.contoso.fr' })).ssl).toBe(true);
    expect(accepted(await readOne({ proxy: 'http://mail.contoso.fr' })).ssl).toBe(false);
  });

  it('maps every office version to its registry key', async () => {
    const expected: Record<string, string> = {
      '2003': '11.0',
      '2007': '12.0',
      '2010': '14.0',
      '2013': '15.0',
      '2016': '16.0',
      '11.0': '11.0',
      '12.0': '12.0',
      '14.0': '14.0',
      '15.0': '15.0',
      '16.0': '16.0',
    };
    for (const [office, version] of Object.entries(expected)) {
      expect(accepted(await readOne({ office })).office).toBe(version);
    }
  });

  it('accepts every yes/no spelling, case-insensitively', async () => {
    for (const [word, value] of [
      ['yes', true],
      ['NO', false],
      ['True', true],
      ['false', false],
      ['1', true],
      ['0', false],
    ] as const) {
      expect(accepted(await readOne({ http_first_fast: word })).httpFirstFast).toBe(value);
    }
  });

  it('principal defaults to msstd:<proxy host> with mutual auth and is dropped without it', async () => {
    expect(accepted(await readOne({ mutual_auth: 'yes' })).principal).toBe('msstd:mail.contoso.fr');
    expect(accepted(await readOne({ mutual_auth: 'no', principal: 'garbage' })).principal).toBeUndefined();
    expect(accepted(await readOne({ mutual_auth: 'yes', principal: 'MSSTD:Mail.Contoso.fr' })).principal).toBe(
      'msstd:mail.contoso.fr',
    );
  });

  it('accepts IP literals as workstation hosts', async () => {
    for (const host of ['10.1.2.3', 'fe80::1', '2001:db8::7', '::ffff:10.0.0.1', 'ws-0001']) {
      expect(accepted(await readOne({ host })).host).toBe(host);
    }
  });

  it('shows rejected values truncated with control characters escaped', async () => {
    const rejection = await rejectionOf({ display_name: `${'a'.repeat(100)}\u0007` });
    expect(rejection.value).toBe(`${'a'.repeat(60)}…`);
    const short = await rejectionOf({ profile_name: 'a\u0007\u2028b' });
    expect(short.value).toBe('a\\x07\\u2028b');
  });
});
