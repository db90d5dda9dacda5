import type { Command } from 'commander';
import type { ReportFormat } from '../../campaign/write-report-file.js';
import { FleetError } from '../../errors/index.js';
import { USER_STATES, type UserState } from '../../rollout/states.js';
import type { UserFilter } from '../../store/types.js';
import { addConnectionOptions, toConnectionFlags, withContext, writeOut } from '../context.js';

interface ReportFlags {
  readonly state?: string;
  readonly site?: string;
  readonly code?: string;
  readonly format?: string;
  readonly json?: boolean;
  readonly out?: string;
}

export function parseStateOption(value: string | undefined): UserState | undefined {
  if (value === undefined) return undefined;
  if (!(USER_STATES as readonly string[]).includes(value)) {
    throw new FleetError('FR_ERR_USAGE', `--state ${value}: use one of ${USER_STATES.join(', ')}`);
  }
  return value as UserState;
}

/** --json is --format json (every read command takes --json); asking for both csv and json is refused. */
function reportFormat(flags: ReportFlags): ReportFormat {
  const format = flags.format ?? (flags.json ? 'json' : 'csv');
  if (format !== 'csv' && format !== 'json') {
    throw new FleetError('FR_ERR_USAGE', `--format ${format}: use csv or json`);
  }
  if (flags.json && format !== 'json') throw new FleetError('FR_ERR_USAGE', '--json with --format csv: choose one');
  return format;
}

export function registerReport(program: Command): void {
  addConnectionOptions(
    program
      .command('report')
      .description('one row per user: state, attempts, last error, checksum, timestamps (streamed, formula-safe CSV)')
      .argument('<name>', 'campaign name')
      .option('--state <state>', `only users in this state (${USER_STATES.join(', ')})`)
      .option('--site <site>', 'only users of this site')
      .option('--code <code>', 'only users whose last error has this code')
      .option('--format <format>', 'csv or json (default csv)')
      .option('--json', 'same as --format json: one JSON array of the rows', false)
      .option('--out <file>', 'write to this file instead of stdout'),
  ).action(async (name: string, flags: ReportFlags & Record<string, unknown>) => {
    const format = reportFormat(flags);
    const state = parseStateOption(flags.state);
    const filter: UserFilter = {
      ...(state !== undefined && { state }),
      ...(flags.site !== undefined && { site: flags.site }),
      ...(flags.code !== undefined && { code: flags.code }),
    };
    const { toReportChunks, writeReportFile } = await import('../../campaign/write-report-file.js');
    await withContext(toConnectionFlags(flags), async ({ fleet }) => {
      // Fails on an unknown campaign before anything (a header) is printed.
      await fleet.campaign(name);
      if (flags.out !== undefined) {
        const rows = await writeReportFile(fleet.report(name, filter), format, flags.out);
        process.stderr.write(`report ${name}: ${rows} user(s) written to ${flags.out}\n`);
        return;
      }
      for await (const chunk of toReportChunks(fleet.report(name, filter), format)) await writeOut(chunk);
    });
  });
}
