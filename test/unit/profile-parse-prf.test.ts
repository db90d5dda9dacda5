import { describe, expect, it } from 'vitest';
import { decodePrfBytes, detectLineEndings, findSection, parsePrf, readValue } from '../../src/profile/index.js';

describe('parsePrf', () => {
  const text =
    '\ufeff;comment\r\n[General]\r\nProfileName = Outlook \r\n\r\n[ServiceEGS1]\r\nSearchBase=ou=a,dc=b\r\nkey-only\r\n';

  it('keeps sections and keys in order, with 1-based line numbers, values split at the first =', () => {
    const prf = parsePrf(text);
    expect(prf.sections.map((s) => [s.name, s.line])).toEqual([
      ['General', 2],
      ['ServiceEGS1', 5],
    ]);
    expect(findSection(prf, 'general')?.entries).toEqual([{ key: 'ProfileName', value: 'Outlook', line: 3 }]);
    expect(readValue(prf, 'serviceegs1', 'SEARCHBASE')).toBe('ou=a,dc=b');
    expect(prf.oddLines).toEqual([{ line: 7, text: 'key-only', kind: 'no-equals' }]);
    expect(prf.lineCount).toBe(7);
  });

  it('reports keys before any section and unclosed section headers', () => {
    const prf = parsePrf('Orphan=1\n[Broken\n[Ok]\nA=1');
    expect(prf.oddLines.map((o) => [o.line, o.kind])).toEqual([
      [1, 'key-outside-section'],
      [2, 'unclosed-section'],
    ]);
  });

  it('treats a lone CR as a line break (it would be one to some readers)', () => {
    const prf = parsePrf('[A]\r\nName=x\r[B]\r\nK=v');
    expect(prf.sections.map((s) => s.name)).toEqual(['A', 'B']);
  });
});

describe('decodePrfBytes and detectLineEndings', () => {
  it('recognises UTF-16LE+BOM, UTF-8+BOM, UTF-8 and ANSI', () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('[General]\r\n', 'utf16le')]);
    expect(decodePrfBytes(utf16)).toMatchObject({ encoding: 'utf-16le-bom', text: '[General]\r\n' });
    expect(decodePrfBytes(Buffer.from('\ufeff[A]', 'utf8')).encoding).toBe('utf-8-bom');
    expect(decodePrfBytes(Buffer.from('[A]\nN=Zoé', 'utf8'))).toMatchObject({ encoding: 'utf-8', text: '[A]\nN=Zoé' });
    expect(decodePrfBytes(Buffer.from('[A]\nN=Zo\xe9', 'latin1'))).toMatchObject({
      encoding: 'ansi',
      text: '[A]\nN=Zoé',
    });
    expect(decodePrfBytes(Buffer.from('[A]', 'latin1')).encoding).toBe('ansi');
  });

  it('tells CRLF, LF and mixed apart, pointing at the odd line', () => {
    expect(detectLineEndings('a\r\nb\r\n')).toEqual({ endings: 'crlf', firstOddLine: undefined });
    expect(detectLineEndings('a\nb\n').endings).toBe('lf');
    expect(detectLineEndings('a\r\nb\nc\r\nd\r\n')).toEqual({ endings: 'mixed', firstOddLine: 2 });
    expect(detectLineEndings('a\r\nb\rc\r\n')).toEqual({ endings: 'mixed', firstOddLine: 2 });
  });
});

describe('decodePrfBytes on Windows-1251 bytes that happen to be valid UTF-8', () => {
  it('reads them as ANSI rather than inventing a C1 control character', () => {
    // "В…" in Windows-1251 is C2 85, which is also UTF-8 for U+0085 (NEL).
    const decoded = decodePrfBytes(Buffer.from([0x5b, 0x41, 0x5d, 0x0d, 0x0a, 0x4e, 0x3d, 0xc2, 0x85]));
    expect(decoded.encoding).toBe('ansi');
    expect(decoded.text).not.toMatch(/\u0085/);
  });
});
