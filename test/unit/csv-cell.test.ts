import { describe, expect, it } from 'vitest';
import { toCsvCell, toCsvLine } from '../../src/csv/index.js';

describe('formula-safe CSV writer', () => {
  it('neutralises cells that a spreadsheet would run as a formula', () => {
    expect(toCsvCell('=HYPERLINK("http://x")')).toBe(`"'=HYPERLINK(""http://x"")"`);
    expect(toCsvCell('+33 1 23')).toBe("'+33 1 23");
    expect(toCsvCell('-1')).toBe("'-1");
    expect(toCsvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(toCsvCell('\t=1')).toBe(`"'\t=1"`);
    expect(toCsvCell('\r=1')).toBe(`"'\r=1"`);
  });

  it('leaves ordinary cells alone and quotes delimiters, quotes, line breaks and edge spaces', () => {
    expect(toCsvCell('jdupont')).toBe('jdupont');
    expect(toCsvCell('a=b')).toBe('a=b');
    expect(toCsvCell('Dupont, Jean')).toBe('"Dupont, Jean"');
    expect(toCsvCell('a;b')).toBe('"a;b"');
    expect(toCsvCell('say "hi"')).toBe('"say ""hi"""');
    expect(toCsvCell('two\nlines')).toBe('"two\nlines"');
    expect(toCsvCell(' padded')).toBe('" padded"');
    expect(toCsvCell('')).toBe('');
  });

  it('writes CRLF-terminated lines', () => {
    expect(toCsvLine(['line', 'column', 'value', 'reason'])).toBe('line,column,value,reason\r\n');
    expect(toCsvLine(['3', 'proxy', '=cmd|/C calc', 'a, b'])).toBe(`3,proxy,'=cmd|/C calc,"a, b"\r\n`);
  });
});
