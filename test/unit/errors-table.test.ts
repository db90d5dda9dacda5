import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/errors/index.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
const documented = [...doc.matchAll(/^### (FR_ERR_[A-Z0-9_]+)\s*$/gm)].map((match) => match[1]);

describe('docs/errors.md', () => {
  it('documents every code of src/errors/codes.ts', () => {
    const missing = Object.keys(ERROR_CODES).filter((code) => !documented.includes(code));
    expect(missing, 'add a "### CODE" section to docs/errors.md').toEqual([]);
  });

  it('documents no code that does not exist, and none twice', () => {
    expect(documented.filter((code) => !Object.hasOwn(ERROR_CODES, code ?? ''))).toEqual([]);
    expect(new Set(documented).size).toBe(documented.length);
  });

  it('explains each code in at least one line of text', () => {
    const sections = doc.split(/^### /m).slice(1);
    const empty = sections.filter((section) => section.split('\n').slice(1).join('').trim() === '');
    expect(empty.map((section) => section.split('\n')[0])).toEqual([]);
  });
});
