import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderCampaignTable, renderUserTable } from '../helpers/lifecycle-tables.js';

const doc = readFileSync(new URL('../../docs/architecture.md', import.meta.url), 'utf8');

describe('docs/architecture.md', () => {
  it('shows the user and campaign transition tables exactly as the code has them', () => {
    expect(doc).toContain(renderUserTable());
    expect(doc).toContain(renderCampaignTable());
  });
});
