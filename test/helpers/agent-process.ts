import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI (test/global-setup.ts rebuilds dist/ before the tests when it may be stale). */
export const CLI_PATH = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface AgentProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything the agent wrote so far (JSON log lines). */
  output(): string;
  /** Resolves with the exit code (or the signal name) once the process ended. */
  readonly exited: Promise<number | NodeJS.Signals>;
  /** Sends a signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | NodeJS.Signals>;
}

/** Short test intervals go through the agent's own flags (no test-only code paths). */
export const FAST_AGENT_FLAGS = [
  '--lock-ms',
  '3000',
  '--stalled-ms',
  '1000',
  '--poll-ms',
  '200',
  '--log-level',
  'info',
];

/** Spawns `node dist/cli/main.js agent …` with the given prefix and Redis. */
export function spawnAgent(redisUrl: string, prefix: string, extra: readonly string[] = []): AgentProcess {
  const child = spawn(
    process.execPath,
    [CLI_PATH, 'agent', '--redis-url', redisUrl, '--prefix', prefix, ...FAST_AGENT_FLAGS, ...extra],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, REDIS_URL: redisUrl },
    },
  );
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  const exited = new Promise<number | NodeJS.Signals>((done) => {
    child.once('exit', (code, signal) => done(code ?? signal ?? -1));
  });
  return {
    child,
    pid: child.pid ?? -1,
    output: () => text,
    exited,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/**
 * Waits until the agent logged `message` (e.g. "serving campaign"), or a line `message` accepts (one JSON line per
 * log record); the test timeout bounds it.
 */
export async function waitForLog(agent: AgentProcess, message: string | ((line: string) => boolean)): Promise<void> {
  const logged =
    typeof message === 'string'
      ? () => agent.output().includes(message)
      : () => agent.output().split('\n').some(message);
  while (!logged()) {
    if (agent.child.exitCode !== null) throw new Error(`agent exited early:\n${agent.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
