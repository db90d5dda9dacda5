import type { Command } from 'commander';
import { addConnectionOptions, toConnectionFlags, withContext, writeJson, writeOut } from '../context.js';

type Json = Record<string, unknown>;

/** A campaign command: one facade call, its JSON document and its line of text. */
interface ControlSpec {
  readonly name: string;
  readonly description: string;
  readonly run: (
    fleet: import('../../app/open-fleet.js').Fleet,
    campaign: string,
  ) => Promise<{ json: Json; text: string }>;
}

const CONTROLS: readonly ControlSpec[] = [
  {
    name: 'start',
    description: 'start a campaign: every user with work pending is handed to the agents',
    run: async (fleet, name) => {
      const result = await fleet.start(name);
      return {
        json: { state: result.campaign.state, enqueued: result.enqueued },
        text: `campaign ${name}: ${result.campaign.state}, ${result.enqueued} user(s) enqueued`,
      };
    },
  },
  {
    name: 'pause',
    description: 'pause a running campaign (steps already on workstations finish; nothing new starts)',
    run: async (fleet, name) => {
      const campaign = await fleet.pause(name);
      return { json: { state: campaign.state }, text: `campaign ${name}: ${campaign.state}` };
    },
  },
  {
    name: 'resume',
    description: 'resume a paused or halted campaign',
    run: async (fleet, name) => {
      const campaign = await fleet.resume(name);
      return { json: { state: campaign.state }, text: `campaign ${name}: ${campaign.state}` };
    },
  },
  {
    name: 'cancel',
    description: 'cancel a campaign: nothing new starts; steps already on workstations finish and record their outcome',
    run: async (fleet, name) => {
      const result = await fleet.cancel(name);
      const running =
        result.stillRunning > 0
          ? `; ${result.stillRunning} still running on workstations (their outcome will be recorded)`
          : '';
      return {
        json: { state: result.campaign.state, cancelled: result.cancelled, stillRunning: result.stillRunning },
        text: `campaign ${name}: ${result.campaign.state}, ${result.cancelled} waiting user(s) cancelled${running}`,
      };
    },
  },
];

export function registerControls(program: Command): void {
  for (const spec of CONTROLS) {
    addConnectionOptions(
      program
        .command(spec.name)
        .description(spec.description)
        .argument('<name>', 'campaign name')
        .option('--json', 'print JSON', false),
    ).action(async (name: string, flags: { json?: boolean } & Record<string, unknown>) => {
      await withContext(toConnectionFlags(flags), async ({ fleet }) => {
        const { json, text } = await spec.run(fleet, name);
        if (flags.json) await writeJson({ campaign: name, ...json });
        else await writeOut(`${text}\n`);
      });
    });
  }
}
