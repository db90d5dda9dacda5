import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

/** Runs the built CLI (rebuilt by test/global-setup.ts when stale) as a user would. */
const MAIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../fixtures/prf/', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'fleet-lint-prf-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function lint(...args: string[]) {
  const run = spawnSync(process.execPath, [MAIN, 'lint-prf', ...args], { encoding: 'utf8' });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('fleet-rollout lint-prf', () => {
  it('exits 0 on clean files (warnings allowed) and says which encoding', () => {
    const golden = `${FIXTURES}golden/utf16le-unicode-name.prf`;
    const lf = `${FIXTURES}real-like/template-shape-ansi-lf-pop3-banner.prf`;
    const run = lint(golden, lf);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`${golden}: encoding utf-16le-bom, line endings crlf`);
    expect(run.stdout).toContain(`${lf}:1: warning line-endings: bare LF line endings`);
    expect(run.stdout).toContain(`${lf}:32: warning unmapped-key:`);
  });

  it('exits 2 when a file has errors, printing file:line: severity rule: message', () => {
    const bad = join(work, 'bad.prf');
    const text = [
      '[General]',
      'ProfileName=Outlook',
      '[Service List]',
      'ServiceEGS1=Exchange Global Section',
      '[ServiceEGS1]',
      'RPCoverHTTPflags=0x0035',
      'RPCProxyServer=https://mail.contoso.com:443',
      'RPCProxyAuthScheme=0x0001',
      '[Exchange Global Section]',
      'SectionGUID=13dbb0c8aa05101a9bb000aa002fc45a',
      'RPCoverHTTPflags=PT_LONG,0x6623',
      'RPCProxyServer=PT_STRING8,0x6622',
      '',
    ].join('\r\n');
    writeFileSync(bad, text, 'latin1');
    const run = lint(`${FIXTURES}golden/ntlm-ssl-mutual.prf`, bad);
    expect(run.code).toBe(2);
    expect(run.stdout).toContain(`${bad}:6: error rpc-flags: bit 0x10 is undocumented`);
    expect(run.stdout).toContain(`${bad}:6: error rpc-flags: mutual authentication (0x4) without SSL (0x2)`);
    expect(run.stdout).toContain(`${bad}:7: error rpc-proxy: https://mail.contoso.com:443: host name only`);
    expect(run.stdout).toContain(`${bad}:8: error rpc-auth: Basic authentication without SSL`);
    expect(run.stdout).toContain(`${bad}:8: error unmapped-key: RPCProxyAuthScheme has no mapping line`);
    expect(run.stdout).toContain(
      `${bad}:12: error mapping-type-tag: RPCProxyServer=PT_STRING8,0x6622, expected PT_UNICODE,0x6622`,
    );
  });

  it('exits 1 when a file cannot be read, after linting the others', () => {
    const missing = join(work, 'missing.prf');
    const run = lint(missing, `${FIXTURES}golden/ntlm-ssl-mutual.prf`);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`${missing}: FR_ERR_FILE_UNREADABLE`);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(run.stdout).toContain('ntlm-ssl-mutual.prf: 0 error(s)');
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('2 files, 1 error, 0 warnings');
  });

  it('ends with a summary of every file, and calls a file that is not a PRF an error', () => {
    const csv = join(work, 'users.prf');
    writeFileSync(csv, 'username,mailbox\nalice,alice\nbob,bob\n');
    const lf = `${FIXTURES}real-like/template-shape-ansi-lf-pop3-banner.prf`;
    const run = lint(`${FIXTURES}golden/ntlm-ssl-mutual.prf`, csv, lf);
    expect(run.code).toBe(2);
    expect(run.stdout).toContain(`${csv}:1: error not-a-prf: no [section] at all: this is not a PRF`);
    expect(run.stdout).not.toContain(`${csv}:2:`); // one error, not a warning per line
    const warnings = (run.stdout.match(/: warning /g) ?? []).length;
    expect(warnings).toBeGreaterThan(0);
    expect(run.stdout.trimEnd().split('\n').at(-1)).toBe(`3 files, 1 error, ${warnings} warnings`);
  });

  it('prints JSON reports with --json', () => {
    const run = lint('--json', `${FIXTURES}real-like/oct-shape-utf8-bom-ldap-imap.prf`);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout.trim());
    expect(report).toMatchObject({ encoding: 'utf-8-bom', lineEndings: 'crlf' });
    expect(report.findings[0]).toMatchObject({ line: 1, severity: 'warning', rule: 'bom' });
  });
});
