import fc from 'fast-check';
import { reservedDeviceNameReason } from '../../src/csv/logon-name.js';
import type { OfficeVersion, UserSpec } from '../../src/csv/user-spec.js';
import type { ProfileOptions } from '../../src/profile/index.js';

/**
 * fast-check arbitraries of *valid* UserSpecs: every value obeys the CSV grammar of src/csv (usernames 1–64
 * characters, Unicode letters allowed, none of " / \ [ ] : ; | = , + * ? < > @, no control characters, no
 * leading/trailing space or dot, not wrapped in ' quotes; RFC 1123 hosts; msstd: principals; Basic and mutual auth only with SSL).
 */
export type Alphabet = 'ascii' | 'latin1' | 'unicode';

const ASCII_NAME = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.' !#$%&()~^{}`";
const LATIN1_NAME = 'éèêëàâäôöûüùçñßøåæÉÈÀÇÑÜÖ';
const OTHER_NAME = 'жяЖЯдПщЁłśżčřőΩλ李王ﬀ😀';

function nameChars(alphabet: Alphabet): string[] {
  const all = ASCII_NAME + (alphabet === 'ascii' ? '' : LATIN1_NAME) + (alphabet === 'unicode' ? OTHER_NAME : '');
  return Array.from(all);
}

/** Windows logon name (also the mailbox grammar). */
export function accountNameArb(alphabet: Alphabet = 'unicode'): fc.Arbitrary<string> {
  return (
    fc
      .string({ unit: fc.constantFrom(...nameChars(alphabet)), minLength: 1, maxLength: 64 })
      .filter((name) => !/^[ .]|[ .]$/.test(name))
      // The grammar refuses a name wrapped in ' quotes (the PRF reader would strip them).
      .filter((name) => !(name.length > 1 && name.startsWith("'") && name.endsWith("'")))
      // Nor a Windows device name (`con`, `nul.x`, `COM1`): its `<name>.prf` could not exist on a workstation.
      .filter((name) => reservedDeviceNameReason(name) === undefined)
  );
}

/** Profile names: printable text, `=`, `[`, `;` included (legal inside a value), no surrounding blanks or quotes. */
export function profileNameArb(alphabet: Alphabet = 'unicode'): fc.Arbitrary<string> {
  const chars = [...nameChars(alphabet).filter((c) => c !== "'"), '=', '[', ']', ';', ',', '@', '/'];
  return fc
    .string({ unit: fc.constantFrom(...chars), minLength: 1, maxLength: 64 })
    .filter((name) => name.trim() === name);
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,14}[a-z0-9])?$/;

export function labelArb(): fc.Arbitrary<string> {
  return fc.stringMatching(LABEL);
}

/** FQDN of 2–4 labels whose last label is not all digits. */
export function fqdnArb(): fc.Arbitrary<string> {
  return fc
    .tuple(fc.array(labelArb(), { minLength: 1, maxLength: 3 }), fc.stringMatching(/^[a-z][a-z0-9]{1,5}$/))
    .map(([labels, tld]) => [...labels, tld].join('.'));
}

/** HomeServer: NetBIOS name (one label, ≤ 15 characters) or FQDN. */
export function serverArb(): fc.Arbitrary<string> {
  return fc.oneof(fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,13}[a-z0-9])?$/), fqdnArb());
}

const OFFICE: readonly OfficeVersion[] = ['11.0', '12.0', '14.0', '15.0', '16.0'];

export function userSpecArb(alphabet: Alphabet = 'unicode'): fc.Arbitrary<UserSpec> {
  return fc
    .record({
      username: accountNameArb(alphabet),
      mailbox: fc.option(accountNameArb(alphabet), { nil: undefined }),
      exchangeServer: serverArb(),
      proxyHost: fqdnArb(),
      ssl: fc.boolean(),
      auth: fc.constantFrom('ntlm' as const, 'basic' as const),
      mutualAuth: fc.boolean(),
      principalKind: fc.constantFrom('default', 'other', 'wildcard'),
      principalHost: fqdnArb(),
      httpFirstFast: fc.boolean(),
      httpFirstSlow: fc.boolean(),
      office: fc.constantFrom(...OFFICE),
      profileName: fc.option(profileNameArb(alphabet), { nil: undefined }),
    })
    .map((r) => {
      // The CSV rejects Basic or mutual auth over http://, so a valid spec with either has SSL.
      const ssl = r.ssl || r.auth === 'basic' || r.mutualAuth;
      const principal = !r.mutualAuth
        ? undefined
        : r.principalKind === 'default'
          ? `msstd:${r.proxyHost}`
          : r.principalKind === 'wildcard'
            ? `msstd:*.${r.principalHost}`
            : `msstd:${r.principalHost}`;
      const spec: UserSpec = {
        username: r.username,
        mailbox: r.mailbox ?? r.username,
        exchangeServer: r.exchangeServer,
        proxyHost: r.proxyHost,
        ssl,
        auth: r.auth,
        mutualAuth: r.mutualAuth,
        ...(principal === undefined ? {} : { principal }),
        httpFirstFast: r.httpFirstFast,
        httpFirstSlow: r.httpFirstSlow,
        office: r.office,
        profileName: r.profileName ?? 'Outlook',
      };
      return spec;
    });
}

export function profileOptionsArb(): fc.Arbitrary<ProfileOptions> {
  return fc.record({
    mode: fc.constantFrom('modify-default' as const, 'create' as const),
    defaultProfile: fc.boolean(),
    backupProfile: fc.boolean(),
    cachedMode: fc.boolean(),
    codepage: fc.constantFrom(1250, 1251, 1252, 1257),
    encoding: fc.constantFrom('ansi' as const, 'utf16le' as const),
  });
}
