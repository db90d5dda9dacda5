import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command, type Option } from 'commander';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerCommands } from '../../src/cli/commands/index.js';
import { connectTestRedis, createTestPrefix, deletePrefix } from '../helpers/redis.js';
import { runCli } from '../helpers/run-cli.js';

/** "Every read command takes --json" (README): each one, run by the built CLI, prints JSON a program can parse. */
const ROOT = resolve(import.meta.dirname, '../..');
const prefix = createTestPrefix('read-json');
const work = mkdtempSync(join(tmpdir(), 'fleet-e2e-json-'));
let redis: Redis;
const cli = (...args: string[]) => runCli(work, prefix, args);

/** Commands that change things or run until stopped: they need not print JSON (every other one must). */
const NOT_READ = ['agent', 'dashboard', 'demo', 'generate'];

const CSV = [
  'username,exchange_server,proxy,host,site,office',
  'alice,exch01.contoso.fr,https://mail.contoso.fr,ws-1.demo.lan,paris,2010',
  'bob,exch01.contoso.fr,https://mail.contoso.fr,ws-2.demo.lan,lyon,2010',
].join('\n');

/** Read commands with the arguments that make each print something real. */
const READS: Record<string, string[]> = {
  campaigns: ['campaigns'],
  status: ['status', 'json1'],
  'status (all)': ['status'],
  user: ['user', 'json1', 'alice'],
  report: ['report', 'json1'],
  plan: ['plan', 'users.csv'],
  probe: ['probe', 'json1', '--local-root', 'hosts'],
  verify: ['verify', 'json1', '--local-root', 'hosts'],
  'lint-prf': ['lint-prf', join(ROOT, 'test/fixtures/prf/golden/basic-ssl-create.prf')],
  'hostkeys list': ['hostkeys', 'list'],
  'campaigns --archived': ['campaigns', '--archived'],
  'campaign prune --dry-run': ['campaign', 'prune', '--dry-run', '--older-than-days', '30'],
};

/** Every leaf command of the program with its full name (`hostkeys list`) and its options. */
function leafCommands(): { name: string; options: readonly Option[] }[] {
  const program = new Command();
  registerCommands(program);
  const walk = (command: Command, path: string[]): { name: string; options: readonly Option[] }[] =>
    command.commands.length === 0
      ? [{ name: [...path, command.name()].join(' '), options: command.options }]
      : command.commands.flatMap((child) => walk(child, [...path, command.name()]));
  return program.commands.flatMap((command) => walk(command, []));
}

function parseJsonOutput(stdout: string): unknown {
  try {
    return JSON.parse(stdout);
  } catch {
    // JSON lines (lint-prf: one document per file)
    return stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as unknown);
  }
}

beforeAll(() => {
  redis = connectTestRedis();
  writeFileSync(join(work, 'users.csv'), `${CSV}\n`);
  mkdirSync(join(work, 'hosts'));
  const run = cli('import', 'users.csv', '--campaign', 'json1', '--transport', 'local');
  expect(run.stderr).toBe('');
});

afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
  rmSync(work, { recursive: true, force: true });
});

describe('read commands and --json', () => {
  it('gives --json to every command but the ones that change things or run until stopped', () => {
    const leaves = leafCommands();
    const withoutJson = leaves
      .filter((command) => !command.options.some((option) => option.long === '--json'))
      .map((command) => command.name);
    const acting = leaves.map((command) => command.name).filter((name) => NOT_READ.includes(name));
    expect(withoutJson.filter((name) => !NOT_READ.includes(name))).toEqual([]);
    expect(acting.sort()).toEqual([...NOT_READ].sort());
    // Every read command is exercised below.
    const readNames = new Set(Object.values(READS).map((args) => (args[0] === 'hostkeys' ? 'hostkeys list' : args[0])));
    for (const name of [
      'campaigns',
      'status',
      'user',
      'report',
      'plan',
      'probe',
      'verify',
      'lint-prf',
      'hostkeys list',
    ])
      expect(readNames.has(name)).toBe(true);
  });

  for (const [label, args] of Object.entries(READS)) {
    it(`${label} --json prints parseable JSON`, () => {
      const run = cli(...args, '--json');
      expect(run.stderr, run.stderr).not.toMatch(/FR_ERR_(USAGE|INTERNAL)|unknown option/);
      expect([0, 2]).toContain(run.code);
      expect(run.stdout.trim()).not.toBe('');
      expect(() => parseJsonOutput(run.stdout)).not.toThrow();
    });
  }

  it('report --json is a JSON array of one object per user, like --format json', () => {
    const json = JSON.parse(cli('report', 'json1', '--json').stdout) as { username: string }[];
    expect(json.map((row) => row.username).sort()).toEqual(['alice', 'bob']);
    expect(cli('report', 'json1', '--format', 'json').stdout).toBe(cli('report', 'json1', '--json').stdout);
    const both = cli('report', 'json1', '--json', '--format', 'csv');
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('FR_ERR_USAGE');
  });

  it('--version prints the version of package.json', () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const run = cli(flag);
      expect(run.code).toBe(0);
      expect(run.stdout.trim()).toBe(version);
    }
  });
});
