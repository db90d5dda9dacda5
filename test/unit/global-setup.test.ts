import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isDistStale } from '../global-setup.js';

describe('vitest globalSetup', () => {
  it('has built dist/ from the current sources before any test spawns the CLI', () => {
    expect(isDistStale()).toBe(false);
    const main = statSync(resolve(import.meta.dirname, '../../dist/cli/main.js')).mtimeMs;
    const source = statSync(resolve(import.meta.dirname, '../../src/cli/main.ts')).mtimeMs;
    expect(main).toBeGreaterThanOrEqual(source);
  });
});
