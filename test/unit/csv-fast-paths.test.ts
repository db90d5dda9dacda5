import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAccountName, parseAuth, parseOfficeVersion } from '../../src/csv/field-rules.js';
import { CONTROL, countCharacters, findControlCharacter, hasControlCharacter } from '../../src/csv/text-rules.js';
import { readOne } from '../helpers/read-roster-text.js';

/**
 * The fast paths of the CSV rules (loops instead of regexes, an ASCII shortcut for account names, precomputed
 * results) must answer exactly what the plain rules answer. The references below are the rules as first written.
 */
const FORBIDDEN_NAME_CHARS = /["/\\[\]:;|=,+*?<>@]/;

function referenceAccountName(value: string): { ok: true; value: string } | { ok: false; reason: string } {
  const length = [...value].length;
  if (length < 1 || length > 64) return { ok: false, reason: `must be 1 to 64 characters (has ${length})` };
  const control = value.search(CONTROL);
  if (control >= 0) return { ok: false, reason: 'control' };
  const forbidden = FORBIDDEN_NAME_CHARS.exec(value);
  if (forbidden) {
    return {
      ok: false,
      reason: `character ${forbidden[0]} is not allowed (none of " / \\ [ ] : ; | = , + * ? < > @)`,
    };
  }
  if (/^[\s.]|[\s.]$/u.test(value)) return { ok: false, reason: 'must not start or end with a space or a dot' };
  if (/^'.*'$/su.test(value) && value.length > 1) {
    return { ok: false, reason: "must not be wrapped in ' quotes (the PRF reader strips them)" };
  }
  return { ok: true, value };
}

/** Characters around every boundary the fast paths test: ASCII edges, forbidden ones, C1, separators, surrogates. */
const EDGE_CHARS = [
  ...'aZ09-_.\' !#$%&()~^{}`"/\\[]:;|=,+*?<>@',
  '\u0000',
  '\u0009',
  '\u001f',
  '\u0020',
  '\u007e',
  '\u007f',
  '\u0080',
  '\u0085',
  '\u009f',
  '\u00a0',
  'é',
  '\u2028',
  '\u2029',
  '\u3000',
  '\ufeff',
  '\ud83d',
  '\ude00',
  '😀',
];
const edgeString = (maxLength: number) => fc.string({ unit: fc.constantFrom(...EDGE_CHARS), maxLength });

describe('CSV rule fast paths give the same answers as the plain rules', () => {
  it('parseAccountName: ASCII shortcut and full rules agree with the reference on any string', () => {
    fc.assert(
      fc.property(fc.oneof(edgeString(70), fc.string({ maxLength: 70 }), fc.string({ unit: 'grapheme' })), (value) => {
        const expected = referenceAccountName(value);
        const actual = parseAccountName(value);
        expect(actual.ok).toBe(expected.ok);
        if (actual.ok && expected.ok) expect(actual.value).toBe(expected.value);
        if (!actual.ok && !expected.ok && expected.reason !== 'control') expect(actual.reason).toBe(expected.reason);
      }),
      { numRuns: 5000 },
    );
  });

  it('parseAccountName: the boundaries of the ASCII shortcut', () => {
    expect(parseAccountName('a'.repeat(64))).toEqual({ ok: true, value: 'a'.repeat(64) });
    expect(parseAccountName('a'.repeat(65))).toEqual({ ok: false, reason: 'must be 1 to 64 characters (has 65)' });
    expect(parseAccountName('')).toEqual({ ok: false, reason: 'must be 1 to 64 characters (has 0)' });
    expect(parseAccountName('Jean Dupont')).toEqual({ ok: true, value: 'Jean Dupont' });
    for (const bad of [' jd', 'jd ', '.jd', 'jd.']) {
      expect(parseAccountName(bad)).toEqual({ ok: false, reason: 'must not start or end with a space or a dot' });
    }
    expect(parseAccountName('j\u00a0')).toEqual({ ok: false, reason: 'must not start or end with a space or a dot' });
    expect(parseAccountName('j~d')).toEqual({ ok: true, value: 'j~d' });
    expect(parseAccountName("o'brien")).toEqual({ ok: true, value: "o'brien" });
    for (const quoted of ["'bob'", "''", "'zoé'"]) {
      expect(parseAccountName(quoted)).toEqual({
        ok: false,
        reason: "must not be wrapped in ' quotes (the PRF reader strips them)",
      });
    }
    expect(parseAccountName('j\u007fd')).toEqual({ ok: false, reason: 'control character \\x7f at position 2' });
    expect(parseAccountName('😀'.repeat(64))).toEqual({ ok: true, value: '😀'.repeat(64) });
  });

  it('findControlCharacter / hasControlCharacter: the same code units as the CONTROL regex', () => {
    fc.assert(
      fc.property(fc.oneof(edgeString(30), fc.string({ unit: 'binary', maxLength: 30 })), (value) => {
        expect(findControlCharacter(value)).toBe(value.search(CONTROL));
        expect(hasControlCharacter(value)).toBe(CONTROL.test(value));
      }),
      { numRuns: 5000 },
    );
    for (let code = 0; code <= 0xffff; code++) {
      const char = String.fromCharCode(code);
      expect(hasControlCharacter(char)).toBe(CONTROL.test(char));
    }
  });

  it('countCharacters counts what for...of iterates (a pair once, a lone surrogate once)', () => {
    fc.assert(
      fc.property(fc.oneof(edgeString(40), fc.string({ unit: 'binary' })), (value) => {
        expect(countCharacters(value)).toBe([...value].length);
      }),
      { numRuns: 5000 },
    );
    expect(countCharacters('\ud83d\ude00\ude00\ud83d')).toBe(3);
  });

  it('parseAuth and parseOfficeVersion: shared results, same spellings accepted', () => {
    expect(parseAuth('ntlm')).toEqual({ ok: true, value: 'ntlm' });
    expect(parseAuth(' NTLM ')).toEqual({ ok: true, value: 'ntlm' });
    expect(parseAuth('Basic')).toEqual({ ok: true, value: 'basic' });
    expect(parseAuth('negotiate')).toEqual({ ok: false, reason: 'expected ntlm or basic' });
    expect(parseOfficeVersion('2016')).toEqual({ ok: true, value: '16.0' });
    expect(parseOfficeVersion(' 2010 ')).toEqual({ ok: true, value: '14.0' });
    expect(parseOfficeVersion('13.0').ok).toBe(false);
  });

  it('office: names of Object.prototype properties are rejected, not read from the prototype', async () => {
    for (const office of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
      expect(parseOfficeVersion(office).ok).toBe(false);
      const item = await readOne({ office });
      expect(item.kind).toBe('rejected');
      if (item.kind === 'rejected') expect(item.rejection.column).toBe('office');
    }
  });
});
