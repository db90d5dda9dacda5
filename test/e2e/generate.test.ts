import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/** Spawns the built CLI (`npm test` builds dist/ first) on the fixtures of test/fixtures/csv. */
const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/cli/main.js');
const FIXTURES = join(ROOT, 'test/fixtures/csv');
const work = mkdtempSync(join(tmpdir(), 'fleet-e2e-generate-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let runs = 0;
function generate(csv: string, ...args: string[]) {
  const out = join(work, `out-${++runs}`);
  const result = spawnSync(process.execPath, [CLI, 'generate', csv, '--out', out, ...args], {
    cwd: FIXTURES,
    encoding: 'utf8',
    env: { ...process.env, FLEET_DEBUG: '' },
  });
  return { out, code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const manifest = (out: string) =>
  readFileSync(join(out, 'manifest.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

function expectOneLineError(stderr: string, code: string, file: string): void {
  const lines = stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(code);
  expect(lines[0]).toContain(file);
  expect(stderr).not.toMatch(/\n\s+at /);
}

describe('fleet-rollout generate', () => {
  it('exits 0 when every row is valid, writing one PRF per user and the manifest', () => {
    const run = generate('valid.csv');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^generate: 3 valid, 0 rejected, \d+\.\d\d s/);
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    expect(readdirSync(run.out).sort()).toEqual(['hélène.dubois.prf', 'jdupont.prf', 'manifest.jsonl', 'mmartin.prf']);
    const entries = manifest(run.out);
    expect(entries[0]).toMatchObject({
      username: 'jdupont',
      fileName: 'jdupont.prf',
      line: 2,
      host: 'ws-0001.demo.lan',
      site: 'paris',
      office: '11.0',
      profileName: 'Outlook',
      encoding: 'ansi',
      codepage: 1252,
    });
    const prf = readFileSync(join(run.out, 'hélène.dubois.prf'));
    expect(entries[2]?.['bytes']).toBe(prf.length);
    expect(prf.includes(Buffer.from('MailboxName=h\xe9l\xe8ne.dubois\r\n', 'latin1'))).toBe(true);
    const text = readFileSync(join(run.out, 'jdupont.prf'), 'latin1');
    expect(text).toContain('RPCProxyServer=mail.contoso.fr\r\n');
    expect(text).toContain('RPCProxyPrincipalName=msstd:mail.contoso.fr\r\n');
  });

  it('is deterministic: the same CSV gives the same checksums', () => {
    const again = generate('valid.csv');
    expect(manifest(again.out).map((entry) => entry['sha256'])).toEqual(
      manifest(generate('valid.csv').out).map((entry) => entry['sha256']),
    );
  });

  it('exits 2 with a formula-safe rejected.csv when some rows are rejected', () => {
    const run = generate('mixed.csv');
    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(/^generate: 2 valid, 6 rejected/);
    expect(
      readdirSync(run.out)
        .filter((name) => name.endsWith('.prf'))
        .sort(),
    ).toEqual(['alice.prf', 'frank.prf']);
    expect(readFileSync(join(run.out, 'rejected.csv'), 'utf8')).toBe(
      [
        'line,column,value,reason',
        '3,auth,basic,"Basic authentication needs SSL but the proxy is http://mail.contoso.fr; use https://"',
        '4,proxy,mail.contoso.fr:443,"a port is not allowed in the proxy (Outlook refuses host:port; 443 is implied)"',
        `5,username,'=cmd|/C calc,"character = is not allowed (none of "" / \\ [ ] : ; | = , + * ? < > @)"`,
        '6,username,ALICE,duplicate username (first seen on line 2)',
        '7,display_name,Dave\\r\\nTwo lines,control character \\r at position 5 (this record spans lines 7–8: a quote opened on line 7 is closed on line 8)',
        '9,*,"erin,exch01,mail.contoso.fr,ntlm,Outlook","the row has 5 field(s), the header has 6"',
        '',
      ].join('\r\n'),
    );
  });

  it('rejects rows the code page cannot carry, and accepts them with a code page that can', () => {
    const ansi = generate('cyrillic.csv');
    expect(ansi.code).toBe(2);
    const rejected = readFileSync(join(ansi.out, 'rejected.csv'), 'utf8');
    expect(rejected).toContain('3,mailbox,Жанна,');
    expect(rejected).toContain('4,profile_name,Почта,');
    expect(rejected).toContain('Windows-1252');
    const cyrillic = generate('cyrillic.csv', '--codepage', '1251');
    expect(cyrillic.code).toBe(0);
    expect(readFileSync(join(cyrillic.out, 'Жанна.prf')).includes(Buffer.from([0xc6, 0xe0, 0xed, 0xed, 0xe0]))).toBe(
      true,
    );
  });

  it('writes UTF-16LE with a BOM on request', () => {
    const run = generate('valid.csv', '--prf-encoding', 'utf16le');
    expect(run.code).toBe(0);
    expect([...readFileSync(join(run.out, 'jdupont.prf')).subarray(0, 2)]).toEqual([0xff, 0xfe]);
    expect(manifest(run.out)[0]).toMatchObject({ encoding: 'utf16le', codepage: 1200 });
  });

  it('reads a Windows-1252 CSV with a warning on stderr', () => {
    const run = generate('windows-1252.csv');
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('not valid UTF-8, reading it as windows-1252');
    expect(existsSync(join(run.out, 'Élodie.prf'))).toBe(true);
  });

  it('takes column defaults and profile settings from a campaign file', () => {
    const run = generate('username-only.csv', '--campaign-file', 'campaign.yaml');
    expect(run.code).toBe(0);
    expect(manifest(run.out).map((entry) => [entry['username'], entry['encoding']])).toEqual([
      ['jdupont', 'utf16le'],
      ['mmartin', 'utf16le'],
    ]);
  });

  it('removes a stale rejected.csv when a later run rejects nothing', () => {
    const out = join(work, 'reused');
    const first = spawnSync(process.execPath, [CLI, 'generate', 'mixed.csv', '--out', out], { cwd: FIXTURES });
    expect(first.status).toBe(2);
    const second = spawnSync(process.execPath, [CLI, 'generate', 'valid.csv', '--out', out], { cwd: FIXTURES });
    expect(second.status).toBe(0);
    expect(existsSync(join(out, 'rejected.csv'))).toBe(false);
  });

  it('exits 1 with a one-line reason and no stack trace when nothing can be done', () => {
    const missing = generate('no-such-file.csv');
    expect(missing.code).toBe(1);
    expectOneLineError(missing.stderr, 'FR_ERR_FILE_UNREADABLE', 'no-such-file.csv');

    const columns = generate('missing-columns.csv');
    expect(columns.code).toBe(1);
    expectOneLineError(columns.stderr, 'FR_ERR_CSV_MISSING_COLUMNS', 'missing-columns.csv');
    expect(columns.stderr).toContain('found: username, email, site');

    const campaign = generate('valid.csv', '--campaign-file', 'bad-campaign.yaml');
    expect(campaign.code).toBe(1);
    expectOneLineError(campaign.stderr, 'FR_ERR_CAMPAIGN_FILE_INVALID', 'bad-campaign.yaml');
    expect(campaign.stderr).toContain('defaults.colour: unknown key');
    expect(campaign.stderr).toContain('profile.codepage');

    const empty = generate('header-only.csv');
    expect(empty.code).toBe(1);
    expectOneLineError(empty.stderr, 'FR_ERR_CSV_EMPTY', 'header-only.csv');
    expect(existsSync(join(empty.out, 'manifest.jsonl'))).toBe(false);
  });

  it('skips Outlook 2016+ rows by default with their own code and reason; a campaign may apply them', () => {
    const run = generate('office-versions.csv');
    expect(run.code).toBe(2);
    expect(readdirSync(run.out).sort()).toEqual(['adupont.prf', 'manifest.jsonl', 'rejected.csv']);
    const rejected = readFileSync(join(run.out, 'rejected.csv'), 'utf8').split('\r\n');
    expect(
      rejected.filter((line) => line.startsWith('3,office,16.0,') || line.startsWith('4,office,16.0,')),
    ).toHaveLength(2);
    expect(rejected[1]).toContain('Autodiscover');
    const applied = generate('office-versions.csv', '--campaign-file', 'office-16-apply.yaml');
    expect(applied.code).toBe(0);
    expect(manifest(applied.out).map((entry) => entry['office'])).toEqual(['14.0', '16.0', '16.0']);
  });

  it('refuses an output path that is a file', () => {
    const file = join(work, 'not-a-dir');
    writeFileSync(file, 'x');
    const result = spawnSync(process.execPath, [CLI, 'generate', 'valid.csv', '--out', file], {
      cwd: FIXTURES,
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expectOneLineError(result.stderr, 'FR_ERR_OUTPUT_UNWRITABLE', 'not-a-dir');
  });
});
