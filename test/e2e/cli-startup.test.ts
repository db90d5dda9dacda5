import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { AGENT_DEFAULTS } from '../../src/workers/start-agent.js';

/**
 * Start-up cost of the built CLI: every command is registered on every run, so command modules must not load the
 * heavy dependencies before their action runs (src/cli/commands/index.ts). A module loader hook records every
 * module the process loads.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const CLI = join(ROOT, 'dist/cli/main.js');
const work = mkdtempSync(join(tmpdir(), 'fleet-e2e-startup-'));
const HEAVY = /\/node_modules\/(bullmq|ioredis|node-ssh|ssh2|pino)\//;

writeFileSync(
  join(work, 'hooks.mjs'),
  `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  appendFileSync(process.env.FLEET_TEST_LOADED, url + '\\n');
  return next(url, context);
}
`,
);
writeFileSync(
  join(work, 'register.mjs'),
  `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(work, 'hooks.mjs')).href)});\n`,
);

let runs = 0;
function loadedModules(...args: string[]): { code: number | null; stdout: string; modules: string[] } {
  const list = join(work, `loaded-${++runs}.txt`);
  writeFileSync(list, '');
  const result = spawnSync(process.execPath, ['--import', join(work, 'register.mjs'), CLI, ...args], {
    cwd: work,
    encoding: 'utf8',
    env: { ...process.env, FLEET_TEST_LOADED: list, FLEET_DEBUG: '' },
  });
  return { code: result.status, stdout: result.stdout, modules: readFileSync(list, 'utf8').split('\n') };
}

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('CLI start-up', () => {
  it('--help lists every command without loading BullMQ, ioredis, the SSH stack or pino', () => {
    const run = loadedModules('--help');
    expect(run.code).toBe(0);
    for (const command of ['agent', 'import', 'run', 'status', 'report', 'retry', 'user', 'demo', 'generate'])
      expect(run.stdout).toContain(`  ${command} `);
    expect(run.modules.some((url) => url.includes('/node_modules/commander/'))).toBe(true); // the hook works
    expect(run.modules.filter((url) => HEAVY.test(url))).toEqual([]);
    // Only the agent's constant defaults (shown by --help) may come from the runner's folder.
    expect(run.modules.filter((url) => url.includes('/dist/workers/'))).toEqual([
      expect.stringMatching(/\/dist\/workers\/agent-defaults\.js$/),
    ]);
  });

  it('generate and lint-prf do not load them either', () => {
    const out = join(work, 'out');
    const generate = loadedModules('generate', join(ROOT, 'examples/users.csv'), '--out', out);
    expect(generate.code).toBe(2); // the examples hold deliberately bad rows
    expect(generate.modules.filter((url) => HEAVY.test(url))).toEqual([]);
    const lint = loadedModules('lint-prf', join(out, 'smoreau.prf'));
    expect(lint.code).toBe(0);
    expect(lint.modules.filter((url) => HEAVY.test(url))).toEqual([]);
  });

  it('agent --help shows the defaults the agent uses, without loading BullMQ', () => {
    const help = loadedModules('agent', '--help');
    expect(help.stdout).toContain(`(default: ${AGENT_DEFAULTS.concurrency})`);
    expect(help.modules.filter((url) => HEAVY.test(url))).toEqual([]);
  });
});
