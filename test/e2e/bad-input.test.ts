import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTestRedis, createTestPrefix, deletePrefix, TEST_REDIS_URL } from '../helpers/redis.js';

/** Bad input, one clear line each (issue 9 §5): the built CLI as an admin runs it. */
const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/cli/main.js');
const prefix = createTestPrefix('bad-input');
const work = mkdtempSync(join(tmpdir(), 'fleet-e2e-bad-input-'));
const ESC = '\u001b';
let redis: Redis;

function cli(...args: string[]) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    cwd: work,
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, REDIS_URL: TEST_REDIS_URL, FLEET_PREFIX: prefix, FLEET_DEBUG: '' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, signal: result.signal };
}

function expectOneLine(run: ReturnType<typeof cli>, code: string, message: RegExp): void {
  expect(run.signal).toBeNull(); // finished on its own, within the timeout
  expect(run.code).toBe(1);
  const lines = run.stderr.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^fleet-rollout: ${code}: `));
  expect(lines[0]).toMatch(message);
}

const HEADER = 'username,exchange_server,proxy,host';
const row = (user: string, host = `ws-${user}`) => `${user},exch01.contoso.fr,https://mail.contoso.fr,${host}`;
const csv = join(work, 'users.csv');

beforeAll(() => {
  redis = connectTestRedis();
  writeFileSync(csv, `${[HEADER, row('alice'), row('bob'), row('carol')].join('\n')}\n`);
});

afterAll(async () => {
  await deletePrefix(redis, prefix);
  redis.disconnect();
  rmSync(work, { recursive: true, force: true });
});

describe('generate output directory', () => {
  it('--out /proc/x stops at once with one line (it used to spin at 100 % CPU forever)', () => {
    expectOneLine(cli('generate', csv, '--out', '/proc/x'), 'FR_ERR_OUTPUT_UNWRITABLE', /\/proc\/x cannot be created/);
  });

  it('--out under a file names the file in the way', () => {
    writeFileSync(join(work, 'a-file'), 'x');
    expectOneLine(
      cli('generate', csv, '--out', 'a-file/out'),
      'FR_ERR_OUTPUT_UNWRITABLE',
      /a-file exists and is not a directory/,
    );
  });

  it('a generate that fails leaves no manifest that looks complete (not even an earlier one)', () => {
    const out = join(work, 'out');
    expect(cli('generate', csv, '--out', out).code).toBe(0);
    expect(existsSync(join(out, 'manifest.jsonl'))).toBe(true);
    rmSync(join(out, 'carol.prf'));
    mkdirSync(join(out, 'carol.prf')); // carol's profile cannot be written this time
    const run = cli('generate', csv, '--out', out);
    expectOneLine(run, 'FR_ERR_OUTPUT_UNWRITABLE', /carol\.prf/);
    expect(readdirSync(out).filter((name) => /manifest|rejected|\.tmp/.test(name))).toEqual([]);
  });
});

describe('printing what untrusted files hold', () => {
  it('lint-prf refuses a file far larger than any PRF without reading it', () => {
    const big = join(work, 'big.prf');
    writeFileSync(big, Buffer.alloc(5 * 1024 * 1024, 0x41));
    const run = cli('lint-prf', big);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/big\.prf: FR_ERR_INPUT_TOO_LARGE: larger than 1 MiB, far larger than any PRF/);
    expect(run.stdout).toBe('1 file, 1 error, 0 warnings\n');
  });

  it('lint-prf and unknown CSV header names never print raw control characters or terminal escapes', () => {
    const prf = join(work, 'escapes.prf');
    writeFileSync(prf, `[General]\r\nProfileName=x\r\nfoo${ESC}]0;pwned\u0007=1\r\n${ESC}[31m=red\r\n`);
    const lint = cli('lint-prf', prf);
    expect(lint.stdout).toContain('foo\\x1b]0;pwned\\x07');
    expect(lint.stdout).not.toContain(ESC);
    expect(lint.stdout).not.toContain('\u0007');
    const headers = join(work, 'headers.csv');
    writeFileSync(headers, `${HEADER},${ESC}[2Jwipe\u0007\n${row('dan')},x\n`);
    const run = cli('generate', headers, '--out', join(work, 'out-headers'));
    expect(run.stderr).toContain('ignoring unknown column(s): \\x1b[2Jwipe\\x07');
    expect(run.stderr).not.toContain(ESC);
  });
});

describe('names and hosts', () => {
  it('a bracketed IPv6 host is a rejected row with its reason (it used to be retried for days as a DNS name)', () => {
    const hosts = join(work, 'hosts.csv');
    writeFileSync(hosts, `${HEADER}\n${row('erin', '[::1]')}\n${row('fred', '::1')}\n`);
    const run = cli('generate', hosts, '--out', join(work, 'out-hosts'));
    expect(run.code).toBe(2);
    const rejected = readFileSync(join(work, 'out-hosts', 'rejected.csv'), 'utf8');
    expect(rejected).toContain('write the IPv6 address without brackets (::1)');
    expect(existsSync(join(work, 'out-hosts', 'fred.prf'))).toBe(true);
  });

  it.each([
    ['-', /must start with a letter or a digit/],
    ['--', /must start with a letter or a digit/],
    ['-x', /must start with a letter or a digit/],
    ['NUL', /Windows reserves it for a device/],
  ])('campaign name %j is refused with its reason', (name, reason) => {
    expectOneLine(cli('import', csv, `--campaign=${name}`), 'FR_ERR_CAMPAIGN_NAME_INVALID', reason);
  });

  it('a campaign name differing only by case from an existing one is refused (one staging folder on Windows)', async () => {
    expect(cli('import', csv, '--campaign', 'Paris-Wave1').code).toBe(0);
    expectOneLine(
      cli('import', csv, '--campaign', 'paris-wave1'),
      'FR_ERR_CAMPAIGN_NAME_INVALID',
      /"paris-wave1" differs only by case from the existing campaign "Paris-Wave1"/,
    );
    expect(cli('import', csv, '--campaign', 'Paris-Wave1').code).toBe(0); // the same name again is a re-import
    expect(await redis.zrange(`${prefix}:fr:campaigns`, '0', '-1')).toEqual(['Paris-Wave1']);
  });
});

describe('pipes', () => {
  it('output piped into a reader that stops early (| head) ends quietly, without an EPIPE stack trace', async () => {
    const many = join(work, 'many');
    mkdirSync(many);
    const files: string[] = [];
    for (let i = 0; i < 400; i++) {
      const file = join(many, `u${i}.prf`);
      writeFileSync(file, '[General]\r\nProfileName=Outlook\r\n');
      files.push(file);
    }
    const child = spawn(process.execPath, [CLI, 'lint-prf', ...files], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    await new Promise<void>((done) => child.stdout.once('data', () => done()));
    child.stdout.destroy(); // what head does after its first lines
    const code = await new Promise<number | null>((done) => child.once('exit', (c) => done(c)));
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });
});
