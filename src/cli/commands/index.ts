import type { Command } from 'commander';
import { registerAgent } from './agent.js';
import { registerGenerate } from './generate.js';
import { registerLintPrf } from './lint-prf.js';

/** Each command lives in its own file and exports `registerX(program)`; add one line per command here. */
export function registerCommands(program: Command): void {
  void program;
  registerAgent(program);
  registerGenerate(program);
  registerLintPrf(program);
}
