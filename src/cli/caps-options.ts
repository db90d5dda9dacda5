import type { Command } from 'commander';

/** Repeated `--site-cap` values, in order. */
function collect(value: string, previous: readonly string[] = []): string[] {
  return [...previous, value];
}

/** The `caps:` flags of `run`/`import` (docs/concurrency.md): they replace the campaign file's values. */
export function addCapsOptions(command: Command): Command {
  return command
    .option('--max-in-flight <n>', 'caps: deploys on workstations at once, every agent and site together')
    .option('--per-site-cap <n>', 'caps: deploys at once per site (every agent together)')
    .option('--site-cap <site=n>', "caps: one site's own cap, e.g. LYON=3 (repeatable)", collect)
    .option('--per-host-cap <n>', 'caps: deploys at once per workstation (default 8, below sshd MaxSessions 10)')
    .option('--connections-per-second <r>', 'caps: new SSH connections per second, every agent together')
    .option('--site-connections-per-second <r>', 'caps: new SSH connections per second per site')
    .option('--slot-lease-seconds <s>', "caps: a dead agent's slots are free again after this long (default 60)");
}
