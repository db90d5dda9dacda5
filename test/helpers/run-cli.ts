import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { TEST_REDIS_URL } from './redis.js';

/** The built CLI (test/global-setup.ts rebuilds dist/ first when it may be stale). */
export const CLI = join(resolve(import.meta.dirname, '../..'), 'dist/cli/main.js');

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `fleet-rollout ARGS` in `cwd` against the test Redis under `prefix`, as an admin would. */
export function runCli(cwd: string, prefix: string, args: readonly string[]): CliRun {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, REDIS_URL: TEST_REDIS_URL, FLEET_PREFIX: prefix, FLEET_DEBUG: '' },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
