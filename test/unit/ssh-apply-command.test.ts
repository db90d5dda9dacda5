import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FleetError } from '../../src/errors/index.js';
import { buildApplyCommand, quotePosix, quotePowerShell } from '../../src/transport/ssh/apply-command.js';
import { resolveRemotePaths } from '../../src/transport/ssh/remote-paths.js';

const values = {
  script: '/stage/.fleet/apply-profile.sh',
  prf: "/stage/c1/o'brien.prf",
  user: "o'brien",
  office: '11.0',
  campaign: 'c1',
  checksum: 'ab'.repeat(32),
  rollback: false,
};

/** Reads PowerShell single-quoted literals the way PowerShell's tokenizer does (' ‘ ’ ‚ ‛ all quote, doubled = one). */
function readPowerShellLiterals(text: string): string[] {
  const quotes = new Set(["'", '\u2018', '\u2019', '\u201a', '\u201b']);
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (!quotes.has(text[i]!)) {
      i++;
      continue;
    }
    let value = '';
    i++;
    for (;;) {
      if (i >= text.length) throw new Error('unterminated literal');
      const c = text[i]!;
      if (quotes.has(c)) {
        if (quotes.has(text[i + 1] ?? '')) {
          value += c;
          i += 2;
          continue;
        }
        i++;
        break;
      }
      value += c;
      i++;
    }
    out.push(value);
  }
  return out;
}

describe('apply command quoting', () => {
  it('posix: any string survives sh as exactly one word', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 30 }).filter((s) => !s.includes('\u0000')),
        (value) => {
          const echoed = execFileSync('sh', ['-c', `printf '%s' ${quotePosix(value)}`]).toString('utf8');
          expect(echoed).toBe(value);
        },
      ),
      { numRuns: 60 },
    );
  });

  it("posix: the default command passes o'brien as one argument and adds --rollback only for rollback", () => {
    const command = buildApplyCommand('posix', values);
    expect(command).toBe(
      `sh '/stage/.fleet/apply-profile.sh' --campaign 'c1' --user 'o'\\''brien' --prf '/stage/c1/o'\\''brien.prf' --office '11.0' --checksum '${values.checksum}'`,
    );
    expect(buildApplyCommand('posix', { ...values, rollback: true })).toMatch(/ --rollback$/);
  });

  it('windows: PowerShell literals round-trip, typographic quotes included, behind -EncodedCommand', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 20 }), (value) => {
        expect(readPowerShellLiterals(quotePowerShell(value))).toEqual([value]);
      }),
    );
    const command = buildApplyCommand('windows', { ...values, user: 'o\u2019brien; Remove-Item C:\\ -Recurse' });
    expect(command).toMatch(
      /^powershell -NoProfile -NonInteractive -ExecutionPolicy Bypass -EncodedCommand [A-Za-z0-9+/=]+$/,
    );
    const script = Buffer.from(command.split(' ').at(-1)!, 'base64').toString('utf16le');
    expect(script).toContain("-User 'o\u2019\u2019brien; Remove-Item C:\\ -Recurse'");
    expect(script).toMatch(/exit \$LASTEXITCODE$/);
    expect(readPowerShellLiterals(script)).toContain('o\u2019brien; Remove-Item C:\\ -Recurse');
  });

  it('fills a custom template with quoted values only and rejects unknown placeholders', () => {
    expect(buildApplyCommand('posix', values, '/opt/apply {user} {office} {rollback}')).toBe(
      "/opt/apply 'o'\\''brien' '11.0'",
    );
    expect(() => buildApplyCommand('posix', values, 'apply {password}')).toThrow(FleetError);
  });

  it('builds Windows staging paths for SFTP and for PowerShell, and refuses unsafe pieces', () => {
    const target = {
      host: 'ws1',
      port: 22,
      login: 'deploy',
      targetOs: 'windows' as const,
      stagingDir: 'C:\\ProgramData\\fleet',
    };
    const paths = resolveRemotePaths(target, 'c1', "o'brien.prf");
    expect(paths.prfTmp).toBe("/C:/ProgramData/fleet/c1/o'brien.prf.tmp");
    expect(paths.nativePrf).toBe("C:\\ProgramData\\fleet\\c1\\o'brien.prf");
    expect(paths.nativeScript).toBe('C:\\ProgramData\\fleet\\.fleet\\apply-profile.ps1');
    expect(() => resolveRemotePaths(target, 'c1', '..\\evil.prf')).toThrow(FleetError);
    expect(() => resolveRemotePaths(target, 'c 1', 'a.prf')).toThrow(FleetError);
    expect(() => resolveRemotePaths({ ...target, stagingDir: 'C:\\x\\..\\Windows' }, 'c1', 'a.prf')).toThrow(
      FleetError,
    );
  });
});
