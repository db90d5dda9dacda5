import { createHash } from 'node:crypto';
import fc from 'fast-check';
import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import type { UserSpec } from '../../src/csv/user-spec.js';
import {
  encodeCodePage,
  findUnrepresentable,
  isPrintableAscii,
  SINGLE_BYTE_CODE_PAGES,
} from '../../src/profile/code-page.js';
import { DEFAULT_PROFILE_OPTIONS, type ProfileOptions, renderProfile } from '../../src/profile/index.js';
import { profileOptionsArb, userSpecArb } from '../helpers/arbitraries.js';

/**
 * renderProfile's fast paths: printable-ASCII heads are written byte for byte (no code-page table), the constant
 * tail is encoded once per options, and round-trip answers are remembered per character. The general path is
 * "encode the whole text in the output encoding"; both must give the same bytes and checksum.
 */
function generalPathBytes(text: string, options: ProfileOptions): Buffer {
  if (options.encoding === 'utf16le') return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
  return Buffer.from(encodeCodePage(text, options.codepage));
}

function referenceUnrepresentable(value: string, codepage: number): string | undefined {
  const name = `windows${codepage}`;
  for (const char of value) {
    if (char.charCodeAt(0) < 0x80) continue;
    if (iconv.decode(iconv.encode(char, name), name) !== char) return char;
  }
  return undefined;
}

function expectSameAsGeneralPath(spec: UserSpec, options: ProfileOptions): boolean {
  const result = renderProfile(spec, options);
  if (!result.ok) return false;
  const { artifact } = result;
  expect(Buffer.from(artifact.bytes).equals(generalPathBytes(artifact.text, options))).toBe(true);
  expect(artifact.sha256).toBe(createHash('sha256').update(artifact.bytes).digest('hex'));
  return true;
}

const ascii: UserSpec = {
  username: 'jdupont',
  mailbox: 'jdupont',
  exchangeServer: 'exch01.contoso.fr',
  proxyHost: 'mail.contoso.fr',
  ssl: true,
  auth: 'ntlm',
  mutualAuth: true,
  httpFirstFast: true,
  httpFirstSlow: true,
  office: '16.0',
  profileName: 'Outlook',
};

describe('renderProfile fast paths give the general path bytes', () => {
  it('ASCII and non-ASCII values, every option set: bytes = the whole text encoded, sha256 of those bytes', () => {
    for (const alphabet of ['ascii', 'latin1', 'unicode'] as const) {
      fc.assert(
        fc.property(userSpecArb(alphabet), profileOptionsArb(), (spec, options) => {
          expectSameAsGeneralPath(spec, options);
        }),
        { numRuns: 200 },
      );
    }
  });

  it('the same user in ASCII and with accents: both render, both give the general path bytes', () => {
    const accented = { ...ascii, username: 'hélène', mailbox: 'hélène', profileName: 'Hélène Müller' };
    for (const spec of [ascii, accented]) {
      for (const options of [
        DEFAULT_PROFILE_OPTIONS,
        { ...DEFAULT_PROFILE_OPTIONS, cachedMode: true, mode: 'create' as const },
        { ...DEFAULT_PROFILE_OPTIONS, encoding: 'utf16le' as const, mode: 'create' as const },
      ]) {
        expect(expectSameAsGeneralPath(spec, options)).toBe(true);
      }
    }
    const result = renderProfile(accented, DEFAULT_PROFILE_OPTIONS);
    if (!result.ok) throw new Error(result.rejection.reason);
    expect(Buffer.from(result.artifact.bytes).includes(Buffer.from('MailboxName=h\xe9l\xe8ne\r\n', 'latin1'))).toBe(
      true,
    );
  });

  it('every flags value and both schemes: the precomputed key texts match the general path', () => {
    for (let bits = 0; bits < 16; bits++) {
      for (const auth of ['ntlm', 'basic'] as const) {
        const spec: UserSpec = {
          ...ascii,
          ssl: true,
          auth,
          mutualAuth: (bits & 1) !== 0,
          httpFirstFast: (bits & 2) !== 0,
          httpFirstSlow: (bits & 4) !== 0,
          ...((bits & 8) !== 0 ? { principal: 'msstd:*.contoso.fr' } : {}),
        };
        const result = renderProfile(spec, DEFAULT_PROFILE_OPTIONS);
        if (!result.ok) throw new Error(result.rejection.reason);
        const flags = 0x1 | 0x2 | (spec.mutualAuth ? 0x4 : 0) | (spec.httpFirstFast ? 0x8 : 0);
        const all = flags | (spec.httpFirstSlow ? 0x20 : 0);
        expect(result.artifact.text).toContain(
          `\r\nRPCoverHTTPflags=0x${all.toString(16).padStart(4, '0')}\r\nRPCProxyServer=mail.contoso.fr\r\n`,
        );
        expect(result.artifact.text).toContain(`\r\nRPCProxyAuthScheme=0x000${auth === 'basic' ? 1 : 2}\r\n\r\n`);
        expectSameAsGeneralPath(spec, DEFAULT_PROFILE_OPTIONS);
      }
    }
  });

  it('still rejects what the code page cannot carry (never ?-substituted), from a cold and a warm cache', () => {
    const spec = { ...ascii, username: 'łukasz', mailbox: 'łukasz' };
    for (let i = 0; i < 2; i++) {
      const result = renderProfile(spec, DEFAULT_PROFILE_OPTIONS);
      expect(result.ok).toBe(false);
      if (!result.ok) {
        expect(result.rejection.code).toBe('FR_ERR_ROW_UNREPRESENTABLE');
        expect(result.rejection.reason).toBe("'ł' (U+0142) cannot be written in Windows-1252");
      }
      expect(renderProfile(spec, { ...DEFAULT_PROFILE_OPTIONS, codepage: 1250 }).ok).toBe(true);
    }
  });

  it('still rejects control characters in the generator (defence in depth), ASCII or not', () => {
    for (const profileName of ['Out\u0007look', 'Out\u0085look', 'Out\u2028look', 'é\u0000']) {
      const result = renderProfile({ ...ascii, profileName }, DEFAULT_PROFILE_OPTIONS);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.rejection.code).toBe('FR_ERR_PROFILE_UNSAFE_VALUE');
    }
    const username = renderProfile({ ...ascii, username: 'jd\u007f' }, DEFAULT_PROFILE_OPTIONS);
    expect(username.ok).toBe(false);
  });
});

describe('code-page helpers', () => {
  it('isPrintableAscii is /^[\\x20-\\x7e]*$/', () => {
    for (let code = 0; code < 0x3000; code++) {
      const value = `a${String.fromCharCode(code)}b`;
      expect(isPrintableAscii(value)).toBe(/^[\x20-\x7e]*$/.test(value));
    }
    expect(isPrintableAscii('')).toBe(true);
  });

  it('findUnrepresentable (remembered per character) = the iconv round trip, in every code page', () => {
    const chars = [
      ...Array.from({ length: 0x200 - 0x80 }, (_, i) => String.fromCharCode(0x80 + i)),
      ...'ЖжΩλ€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ李😀\ufffd\ud800ﬀ\u0e01\u05d0\u0627',
    ];
    for (const codepage of SINGLE_BYTE_CODE_PAGES) {
      for (let pass = 0; pass < 2; pass++) {
        for (const char of chars) {
          expect(findUnrepresentable(`ab${char}`, codepage)).toBe(referenceUnrepresentable(`ab${char}`, codepage));
        }
      }
    }
  });
});
