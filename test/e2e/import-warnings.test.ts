import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTestRedis, createTestPrefix, deletePrefix } from '../helpers/redis.js';
import { runCli } from '../helpers/run-cli.js';

/** CSV intake as an admin sees it on `import` (issues 9 §5 and 10 §1/§2), through the built CLI and real Redis. */
const prefix = createTestPrefix('import-warnings');
const work = mkdtempSync(join(tmpdir(), 'fleet-e2e-import-warnings-'));
let redis: Redis;

beforeAll(() => {
  redis = connectTestRedis();
});

afterAll(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
  rmSync(work, { recursive: true, force: true });
});

describe('import of an Excel export', () => {
  it('honours sep=;, trims padded usernames, rejects an unclosed quote line only, and prints each warning once', () => {
    const csv = [
      'sep=;',
      'username;exchange_server;proxy;host;"Notes\u001b[2J"',
      'pmercier ;exch01.contoso.fr;https://mail.contoso.fr;ws-1.demo.lan;x',
      '"adupont;exch01.contoso.fr;https://mail.contoso.fr;ws-2.demo.lan;y',
      'bdurand;exch01.contoso.fr;https://mail.contoso.fr;ws-3.demo.lan;z',
      'cmartin;exch01.contoso.fr;https://mail.contoso.fr;ws-4.demo.lan;w',
    ].join('\r\n');
    writeFileSync(join(work, 'users.csv'), `${csv}\r\n`);
    const result = runCli(work, prefix, [
      'import',
      'users.csv',
      '--campaign',
      'excel',
      '--allow-rejects',
      '--report-dir',
      work,
    ]);
    expect(result.code, result.stderr).toBe(2);
    // 4 data lines: 3 valid + 1 rejected, nothing swallowed.
    expect(result.stdout).toContain('import excel: 3 valid, 1 rejected');
    const warnings = result.stderr.split('\n').filter((line) => line.includes('warning:'));
    expect(warnings).toEqual([
      'fleet-rollout: warning: users.csv: ignoring unknown column(s): Notes\\x1b[2J',
      'fleet-rollout: warning: users.csv: removed spaces around 1 username(s): line 3 "pmercier "',
    ]);
    expect(result.stderr).not.toContain('\u001b');
  });
});
