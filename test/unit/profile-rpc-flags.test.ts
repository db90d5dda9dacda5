import { describe, expect, it } from 'vitest';
import { decodeRpcFlags, encodeRpcFlags, formatPtLong, parsePtLong } from '../../src/profile/index.js';

/** Every combination of the four choices, with the value worked out by hand from reference/prf-format.md §2. */
const TABLE: [ssl: boolean, mutual: boolean, fast: boolean, slow: boolean, expected: number][] = [
  [false, false, false, false, 0x01],
  [false, false, false, true, 0x21],
  [false, false, true, false, 0x09],
  [false, false, true, true, 0x29],
  [false, true, false, false, 0x05],
  [false, true, false, true, 0x25],
  [false, true, true, false, 0x0d],
  [false, true, true, true, 0x2d],
  [true, false, false, false, 0x03],
  [true, false, false, true, 0x23],
  [true, false, true, false, 0x0b],
  [true, false, true, true, 0x2b],
  [true, true, false, false, 0x07],
  [true, true, false, true, 0x27],
  [true, true, true, false, 0x0f],
  [true, true, true, true, 0x2f],
];

describe('encodeRpcFlags / decodeRpcFlags', () => {
  it.each(TABLE)(
    'ssl=%s mutual=%s fast=%s slow=%s → 0x%s',
    (ssl, mutualAuth, httpFirstFast, httpFirstSlow, expected) => {
      const value = encodeRpcFlags({ ssl, mutualAuth, httpFirstFast, httpFirstSlow });
      expect(value).toBe(expected);
      expect(value & 0x10).toBe(0);
      expect(value & 0x1).toBe(1);
      expect(decodeRpcFlags(value)).toEqual({
        useRoh: true,
        ssl,
        mutualAuth,
        httpFirstFast,
        httpFirstSlow,
        unknownBits: 0,
      });
    },
  );

  it('matches the reference examples (0x23 Microsoft, 0x2f all flags, 0x27, 0x2b)', () => {
    expect(encodeRpcFlags({ ssl: true, mutualAuth: false, httpFirstFast: false, httpFirstSlow: true })).toBe(0x23);
    expect(encodeRpcFlags({ ssl: true, mutualAuth: true, httpFirstFast: true, httpFirstSlow: true })).toBe(0x2f);
    expect(encodeRpcFlags({ ssl: true, mutualAuth: true, httpFirstFast: false, httpFirstSlow: true })).toBe(0x27);
    expect(encodeRpcFlags({ ssl: true, mutualAuth: false, httpFirstFast: true, httpFirstSlow: true })).toBe(0x2b);
  });

  it('reports the undocumented 0x10 and higher bits as unknown', () => {
    expect(decodeRpcFlags(0x33).unknownBits).toBe(0x10);
    expect(decodeRpcFlags(0x43).unknownBits).toBe(0x40);
    expect(decodeRpcFlags(0x22).useRoh).toBe(false);
  });
});

describe('PT_LONG text', () => {
  it('formats as 0x + four lower-case hex digits, like the samples', () => {
    expect(formatPtLong(0x2f)).toBe('0x002f');
    expect(formatPtLong(2)).toBe('0x0002');
    expect(formatPtLong(0x50000000)).toBe('0x50000000');
  });

  it('reads hex and decimal, and nothing else', () => {
    expect(parsePtLong('0x0027')).toBe(0x27);
    expect(parsePtLong('0X2F')).toBe(0x2f);
    expect(parsePtLong('993')).toBe(993);
    expect(parsePtLong('Negotiate')).toBeUndefined();
    expect(parsePtLong('0x')).toBeUndefined();
    expect(parsePtLong('')).toBeUndefined();
  });
});
