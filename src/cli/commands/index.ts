import type { Command } from 'commander';

/** Each command lives in its own file and exports `registerX(program)`; add one line per command here. */
export function registerCommands(program: Command): void {
  void program;
}
