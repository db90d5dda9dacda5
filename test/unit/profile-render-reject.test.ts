import { describe, expect, it } from 'vitest';
import type { UserSpec } from '../../src/csv/user-spec.js';
import { FleetError } from '../../src/errors/index.js';
import {
  assertProfileOptions,
  DEFAULT_PROFILE_OPTIONS,
  type ProfileOptions,
  renderProfile,
} from '../../src/profile/index.js';

const spec: UserSpec = {
  username: 'jdoe',
  mailbox: 'jdoe',
  exchangeServer: 'exch01.corp.contoso.local',
  proxyHost: 'mail.contoso.com',
  ssl: true,
  auth: 'ntlm',
  mutualAuth: false,
  httpFirstFast: false,
  httpFirstSlow: true,
  office: '11.0',
  profileName: 'Outlook',
};
const utf16: ProfileOptions = { ...DEFAULT_PROFILE_OPTIONS, encoding: 'utf16le' };

function rejectionOf(input: UserSpec, options: ProfileOptions = DEFAULT_PROFILE_OPTIONS) {
  const result = renderProfile(input, options);
  if (result.ok) throw new Error('expected a rejection');
  return result.rejection;
}

describe('renderProfile rejects values the code page cannot carry (never "?")', () => {
  it('names the column, the character and the code page', () => {
    expect(rejectionOf({ ...spec, mailbox: 'dvořák' })).toEqual({
      column: 'mailbox',
      value: 'dvořák',
      reason: "'ř' (U+0159) cannot be written in Windows-1252",
      code: 'FR_ERR_ROW_UNREPRESENTABLE',
    });
    expect(rejectionOf({ ...spec, profileName: 'Почта' })).toMatchObject({
      column: 'profile_name',
      code: 'FR_ERR_ROW_UNREPRESENTABLE',
    });
  });

  it('accepts the same name in a code page that has it', () => {
    expect(renderProfile({ ...spec, mailbox: 'dvořák' }, { ...DEFAULT_PROFILE_OPTIONS, codepage: 1250 }).ok).toBe(true);
    expect(renderProfile({ ...spec, profileName: 'Почта' }, { ...DEFAULT_PROFILE_OPTIONS, codepage: 1251 }).ok).toBe(
      true,
    );
    const rejected = rejectionOf({ ...spec, profileName: 'Zoé 李' }, { ...DEFAULT_PROFILE_OPTIONS, codepage: 1251 });
    expect(rejected.reason).toContain("'é' (U+00E9) cannot be written in Windows-1251");
  });

  it('UTF-16LE carries any profile name, but PT_STRING8 values still need the workstation code page', () => {
    expect(renderProfile({ ...spec, profileName: 'Почта 李王 😀' }, utf16).ok).toBe(true);
    const rejected = rejectionOf({ ...spec, mailbox: 'иванов' }, utf16);
    expect(rejected.column).toBe('mailbox');
    expect(rejected.reason).toContain('PT_STRING8');
  });
});

describe('renderProfile refuses values that could change the file structure', () => {
  const cases: [keyof UserSpec, string, string][] = [
    ['profileName', 'Out\r\n[Service1]', 'profile_name'],
    ['mailbox', 'jdoe\nHomeServer=evil', 'mailbox'],
    ['exchangeServer', 'exch\r01', 'exchange_server'],
    ['proxyHost', 'mail\u0085x', 'proxy'],
    ['profileName', 'a\u2028b', 'profile_name'],
    ['profileName', 'tab\there', 'profile_name'],
    ['profileName', '\ud800x', 'profile_name'],
    ['profileName', ' Outlook', 'profile_name'],
    ['profileName', '"Outlook"', 'profile_name'],
    ['profileName', '', 'profile_name'],
  ];
  it.each(cases)('%s=%j → %s', (field, value, column) => {
    const rejected = rejectionOf({ ...spec, [field]: value } as UserSpec);
    expect(rejected.code).toBe('FR_ERR_PROFILE_UNSAFE_VALUE');
    expect(rejected.column).toBe(column);
    expect(rejected.value).not.toMatch(/[\r\n\u0085\u2028]/);
  });

  it('refuses a principal with a line break, and a username that is a path', () => {
    expect(rejectionOf({ ...spec, mutualAuth: true, principal: 'msstd:a.b\r\nX=1' }).column).toBe('principal');
    expect(rejectionOf({ ...spec, username: '..' }).column).toBe('username');
    expect(rejectionOf({ ...spec, username: 'a/b' }).column).toBe('username');
  });

  it('keeps = [ ; inside a value (legal mid-line)', () => {
    const result = renderProfile({ ...spec, profileName: 'A=B [x] ;c' }, DEFAULT_PROFILE_OPTIONS);
    expect(result.ok && result.artifact.text.includes('\r\nProfileName=A=B [x] ;c\r\n')).toBe(true);
  });
});

describe('renderProfile refuses settings that would not connect', () => {
  it('Basic or mutual authentication without SSL, a proxy with a port', () => {
    expect(rejectionOf({ ...spec, ssl: false, auth: 'basic' })).toMatchObject({
      column: 'auth',
      code: 'FR_ERR_ROW_FIELD_INVALID',
    });
    expect(rejectionOf({ ...spec, ssl: false, mutualAuth: true, principal: 'msstd:mail.contoso.com' }).column).toBe(
      'mutual_auth',
    );
    expect(rejectionOf({ ...spec, proxyHost: 'mail.contoso.com:8443' }).column).toBe('proxy');
    expect(rejectionOf({ ...spec, mutualAuth: true, principal: 'mail.contoso.com' }).column).toBe('principal');
  });

  it('uses msstd:<proxy> when mutual auth has no principal', () => {
    const result = renderProfile({ ...spec, mutualAuth: true }, DEFAULT_PROFILE_OPTIONS);
    expect(result.ok && result.artifact.text.includes('\r\nRPCProxyPrincipalName=msstd:mail.contoso.com\r\n')).toBe(
      true,
    );
  });

  it('throws FR_ERR_CONFIG_INVALID for a code page that is not single-byte', () => {
    const bad = { ...DEFAULT_PROFILE_OPTIONS, codepage: 932 };
    expect(() => assertProfileOptions(bad)).toThrow(FleetError);
    expect(() => renderProfile(spec, bad)).toThrow(/932/);
  });
});
