import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRecordStore } from '../../src/store/record-store.js';
import { connectTestRedis, createTestPrefix, deletePrefix } from '../helpers/redis.js';
import { runCli } from '../helpers/run-cli.js';

/** The campaign file's `name:` and `defaults` as an admin meets them on `import` (issue 10 §2.4). */
const prefix = createTestPrefix('cfname');
const work = mkdtempSync(join(tmpdir(), 'fleet-e2e-cfname-'));
let redis: Redis;
const cli = (...args: string[]) => runCli(work, prefix, args);

const CSV = ['username,host', 'alice,ws-1.demo.lan', 'bob,ws-2.demo.lan', 'carol,ws-3.demo.lan'].join('\n');

beforeAll(() => {
  redis = connectTestRedis();
  writeFileSync(join(work, 'users.csv'), `${CSV}\n`);
  writeFileSync(
    join(work, 'named.yaml'),
    [
      'name: from-the-file',
      'defaults:',
      '  exchange_server: exch01.contoso.fr',
      '  proxy: https://mail.contoso.fr',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(work, 'bad-default.yaml'),
    [
      'name: bad-default',
      'defaults:',
      '  exchange_server: exch01.contoso.fr',
      '  proxy: ftp://mail.contoso.fr',
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
  rmSync(work, { recursive: true, force: true });
});

describe('campaign file name and defaults', () => {
  it('imports into the campaign the file names when --campaign is absent', async () => {
    const run = cli('import', 'users.csv', '--campaign-file', 'named.yaml');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('import from-the-file: 3 valid, 0 rejected');
    const campaign = await createRecordStore(redis, prefix).getCampaign('from-the-file');
    expect(campaign?.name).toBe('from-the-file');
  });

  it('lets --campaign win over the name in the file', async () => {
    const run = cli('import', 'users.csv', '--campaign-file', 'named.yaml', '--campaign', 'by-flag');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('import by-flag: 3 valid');
  });

  it('asks for --campaign when neither the flag nor the file names the campaign', () => {
    const run = cli('import', 'users.csv');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('FR_ERR_USAGE: --campaign NAME is required');
  });

  it('refuses an invalid default once, naming the file and its line, without rejecting any row', async () => {
    const run = cli('import', 'users.csv', '--campaign-file', 'bad-default.yaml');
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe(
      'fleet-rollout: FR_ERR_CAMPAIGN_FILE_INVALID: invalid campaign file: line 4: defaults.proxy: scheme "ftp" is not http or https (bad-default.yaml)',
    );
    expect(existsSync(join(work, 'reports/bad-default-rejected.csv'))).toBe(false);
    expect(await createRecordStore(redis, prefix).getCampaign('bad-default')).toBeUndefined();
  });
});
