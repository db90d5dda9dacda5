import type { Command } from 'commander';
import { registerUserActions } from './act-on-users.js';
import { registerAgent } from './agent.js';
import { registerCampaignAdmin } from './campaign.js';
import { registerCampaigns } from './campaigns.js';
import { registerControls } from './control.js';
import { registerDashboard } from './dashboard.js';
import { registerDemo } from './demo.js';
import { registerGenerate } from './generate.js';
import { registerHostKeys } from './hostkeys.js';
import { registerImport } from './import.js';
import { registerLintPrf } from './lint-prf.js';
import { registerPlan } from './plan.js';
import { registerProbe } from './probe.js';
import { registerReport } from './report.js';
import { registerRun } from './run.js';
import { registerStatus } from './status.js';
import { registerUser } from './user.js';
import { registerVerify } from './verify.js';
import { registerWait } from './wait.js';

/**
 * Each command lives in its own file and exports `registerX(program)`; add one line per command here.
 *
 * Start-up stays cheap because every command is registered on every run (`--help` included): at the top, a command
 * file imports only commander, `../context.js` / `../ssh-options.js` (option helpers; they load ioredis and the SSH
 * stack on use), `../../errors`, tiny constants (`../../rollout/states.js`, `../progress-bar.js`) and types; its
 * action `await import()`s what it runs. test/e2e/cli-startup.test.ts checks that `--help`, `generate` and
 * `lint-prf` load neither BullMQ, ioredis, ssh2/node-ssh nor pino.
 */
export function registerCommands(program: Command): void {
  registerAgent(program);
  registerImport(program);
  registerRun(program);
  registerControls(program);
  registerUserActions(program);
  registerCampaigns(program);
  registerStatus(program);
  registerWait(program);
  registerReport(program);
  registerUser(program);
  registerDashboard(program);
  registerDemo(program);
  registerGenerate(program);
  registerLintPrf(program);
  registerProbe(program);
  registerVerify(program);
  registerPlan(program);
  registerHostKeys(program);
  registerCampaignAdmin(program);
}
