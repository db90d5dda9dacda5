import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { lintPrf } from '../../src/profile/index.js';

/**
 * Real-world PRFs must be read without a crash and draw no error (warnings and info are fine).
 * - test/fixtures/prf/real-like/: files written for this project in the exact shapes of the four real files
 *   (encodings, line endings, banners, {{placeholders}}, %variables%, empty sections, OCT section 6/7 blocks with
 *   their repeated lines, case-different key names, an unmapped DefaultAccount) — see the README there.
 * - The genuine files themselves (../shared/reference/real-prfs, or FLEET_REAL_PRFS_DIR) are linted too, and must
 *   be there: they carry no licence, so they are read in place and not copied into the repository.
 */
const REAL_LIKE = fileURLToPath(new URL('../fixtures/prf/real-like/', import.meta.url));
const GENUINE =
  process.env['FLEET_REAL_PRFS_DIR'] ?? fileURLToPath(new URL('../../../shared/reference/real-prfs/', import.meta.url));

function prfFiles(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((name) => name.toLowerCase().endsWith('.prf')) : [];
}

const EXPECTED: Record<string, [encoding: string, lineEndings: string]> = {
  'oct-shape-utf16le-pst-template.prf': ['utf-16le-bom', 'crlf'],
  'oct-shape-utf8-bom-ldap-imap.prf': ['utf-8-bom', 'crlf'],
  'oct-shape-ansi-lf-empty-service-list.prf': ['ansi', 'lf'],
  'template-shape-ansi-lf-pop3-banner.prf': ['ansi', 'lf'],
};

describe('lintPrf on real-world shapes', () => {
  it('reads every real-like fixture with the right encoding and no error', () => {
    expect(prfFiles(REAL_LIKE).sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const name of prfFiles(REAL_LIKE)) {
      const report = lintPrf(readFileSync(REAL_LIKE + name));
      expect([report.encoding, report.lineEndings], name).toEqual(EXPECTED[name]);
      expect(
        report.findings.filter((f) => f.severity === 'error'),
        name,
      ).toEqual([]);
    }
  });

  it('keeps real-world quirks as notes, not errors', () => {
    const template = lintPrf(readFileSync(`${REAL_LIKE}template-shape-ansi-lf-pop3-banner.prf`));
    expect(template.findings).toContainEqual(
      expect.objectContaining({ rule: 'unmapped-key', severity: 'warning', line: 32 }),
    );
    const utf16 = lintPrf(readFileSync(`${REAL_LIKE}oct-shape-utf16le-pst-template.prf`));
    expect(utf16.findings).toContainEqual(
      expect.objectContaining({ rule: 'template-placeholder', severity: 'info', line: 20 }),
    );
  });

  it('draws no error from the genuine reference files, which must be there', () => {
    const files = prfFiles(GENUINE);
    // Missing files fail the test (CI or not): a test that reads zero files proves nothing.
    expect(files.length, `the genuine PRFs must be in ${GENUINE} (or FLEET_REAL_PRFS_DIR)`).toBeGreaterThanOrEqual(4);
    for (const name of files) {
      const report = lintPrf(readFileSync(`${GENUINE}/${name}`));
      expect(
        report.findings.filter((f) => f.severity === 'error'),
        name,
      ).toEqual([]);
    }
  });
});
