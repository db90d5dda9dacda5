import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerCommands } from '../../src/cli/commands/index.js';

/**
 * Every `--flag` the README and docs/ name must exist: an option of some fleet-rollout command (as commander
 * registered it), an option of the workstation script the remote contract documents (agent/posix/apply-profile.sh),
 * or of the benchmarks (bench/). A renamed flag fails this test until the docs follow.
 */
const ROOT = resolve(import.meta.dirname, '../..');

function listFiles(dir: string, ending: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return listFiles(path, ending);
    return entry.name.endsWith(ending) ? [path] : [];
  });
}

/** Long options of the program and of every command and sub-command, `--help` included. */
function cliFlags(): Set<string> {
  const program = new Command();
  program.version('0.0.0', '-V, --version');
  registerCommands(program);
  const flags = new Set<string>(['--help']);
  const walk = (command: Command) => {
    for (const option of command.options) if (option.long) flags.add(option.long);
    command.commands.forEach(walk);
  };
  walk(program);
  return flags;
}

const SCRIPT_FLAGS = new Set(
  [...readFileSync(join(ROOT, 'agent/posix/apply-profile.sh'), 'utf8').matchAll(/^\s*(--[a-z][a-z-]*)\)/gm)].map(
    (match) => match[1] as string,
  ),
);
const BENCH_FLAGS = new Set(
  listFiles(join(ROOT, 'bench'), '.ts').flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/'(--[a-z][a-z-]*)'/g)].map((match) => match[1] as string),
  ),
);

/** `--flag` tokens of a Markdown text, with their line (a flag starts after a space, backtick, bracket or quote). */
function docFlags(text: string): { flag: string; line: number }[] {
  return text.split('\n').flatMap((content, index) =>
    [...content.matchAll(/(?:^|[\s`([|"'])(--[a-z][a-z0-9-]*)/g)].map((match) => ({
      flag: match[1] as string,
      line: index + 1,
    })),
  );
}

const DOCS = [join(ROOT, 'README.md'), ...listFiles(join(ROOT, 'docs'), '.md')];

describe('flags named in the docs', () => {
  it('finds the flags of the CLI, the workstation script and the benchmarks', () => {
    const flags = cliFlags();
    for (const flag of ['--json', '--max-stalls', '--host-key-pin-secret-file', '--version', '--no-ssh-agent'])
      expect(flags.has(flag)).toBe(true);
    expect(SCRIPT_FLAGS.has('--rollback')).toBe(true);
    expect(BENCH_FLAGS.has('--smoke')).toBe(true);
    expect(docFlags('use `--max-stalled 3` or (--json), not x--y').map((f) => f.flag)).toEqual([
      '--max-stalled',
      '--json',
    ]);
  });

  it('names only flags that exist', () => {
    const known = new Set([...cliFlags(), ...SCRIPT_FLAGS, ...BENCH_FLAGS]);
    const unknown = DOCS.flatMap((file) =>
      docFlags(readFileSync(file, 'utf8'))
        .filter(({ flag }) => !known.has(flag))
        .map(({ flag, line }) => `${file.slice(ROOT.length + 1)}:${line} ${flag}`),
    );
    expect(unknown).toEqual([]);
  });
});
