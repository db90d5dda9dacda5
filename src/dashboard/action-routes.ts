import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Fleet } from '../app/open-fleet.js';
import type { ActionResult } from '../campaign/act-on-users.js';
import { requireSession } from './auth.js';
import { countUsers } from './read-routes.js';
import { campaignParams, pauseBody, type SelectionBody, selectionBody, toUserFilter } from './schemas.js';

/**
 * The state-changing routes over the facade: pause, resume, cancel, retry and rollback (one user, a list, or all
 * matching a filter, with a dry run that answers the count), each appended to the audit trail with who and how
 * many. The upload lives in upload-route.ts.
 */
export function registerActionRoutes(app: FastifyInstance, fleet: Fleet): void {
  const act = { config: { act: true } } as const;

  app.post('/api/campaigns/:name/pause', act, async (request) => {
    const { name } = campaignParams.parse(request.params);
    const body = pauseBody.parse(request.body ?? undefined);
    const campaign = await fleet.pause(name, body?.reason ?? `paused by ${requireSession(request).who}`);
    await audit(fleet, request, { action: 'pause', campaign: name, outcome: campaign.state });
    return { campaign };
  });

  app.post('/api/campaigns/:name/resume', act, async (request) => {
    const { name } = campaignParams.parse(request.params);
    const campaign = await fleet.resume(name);
    await audit(fleet, request, { action: 'resume', campaign: name, outcome: campaign.state });
    return { campaign };
  });

  app.post('/api/campaigns/:name/cancel', act, async (request) => {
    const { name } = campaignParams.parse(request.params);
    const result = await fleet.cancel(name);
    await audit(fleet, request, { action: 'cancel', campaign: name, outcome: result.campaign.state });
    return result;
  });

  for (const intent of ['retry', 'rollback'] as const) {
    app.post(`/api/campaigns/:name/${intent}`, act, async (request) => {
      const { name } = campaignParams.parse(request.params);
      const body = selectionBody.parse(request.body);
      if (body.dryRun) return { dryRun: true, users: await countSelection(fleet, name, body) };
      const result = await runSelection(fleet, name, intent, body);
      await audit(fleet, request, {
        action: intent,
        campaign: name,
        filter: describeSelection(body),
        users: result.moved,
        outcome: refusedText(result),
      });
      return result;
    });
  }
}

/** The users a selection would touch: the listed users that exist, or those matching the filter. */
async function countSelection(fleet: Fleet, name: string, body: SelectionBody): Promise<number> {
  if (body.filter) return countUsers(fleet, name, body.filter);
  const users = body.users ?? (body.user !== undefined ? [body.user] : []);
  for (const username of users) await fleet.user(name, username); // 404 for an unknown one
  return users.length;
}

async function runSelection(
  fleet: Fleet,
  name: string,
  intent: 'retry' | 'rollback',
  body: SelectionBody,
): Promise<ActionResult> {
  const run = (selection: Parameters<Fleet['retry']>[1]) =>
    intent === 'retry' ? fleet.retry(name, selection) : fleet.rollback(name, selection);
  if (body.filter) {
    const { state, site, code, stage, search, prefix } = toUserFilter(body.filter);
    return run({
      ...(state !== undefined && { state }),
      ...(site !== undefined && { site }),
      ...(stage !== undefined && { stage }),
      ...(code !== undefined && { code }),
      ...(search !== undefined && { search }),
      ...(prefix !== undefined && { prefix }),
    });
  }
  const users = body.users ?? (body.user !== undefined ? [body.user] : []);
  // Every user must exist before any moves: a typo in a list must not act on half of it.
  for (const username of users) await fleet.user(name, username);
  let moved = 0;
  const refused: Record<string, number> = {};
  let campaignState = (await fleet.campaign(name)).state as string;
  for (const username of users) {
    const result = await run({ user: username });
    moved += result.moved;
    for (const [reason, count] of Object.entries(result.refused)) refused[reason] = (refused[reason] ?? 0) + count;
    campaignState = result.campaignState;
  }
  return { moved, refused, campaignState };
}

function describeSelection(body: SelectionBody): Record<string, unknown> {
  if (body.filter) return { ...body.filter };
  if (body.users) return { users: body.users.length <= 20 ? body.users : [...body.users.slice(0, 20), '…'] };
  return { user: body.user };
}

function refusedText(result: ActionResult): string {
  const refused = Object.values(result.refused).reduce((sum, count) => sum + count, 0);
  return refused === 0 ? `campaign ${result.campaignState}` : `refused ${refused}; campaign ${result.campaignState}`;
}

export async function audit(
  fleet: Fleet,
  request: FastifyRequest,
  entry: { action: string; campaign?: string; filter?: Record<string, unknown>; users?: number; outcome?: string },
): Promise<void> {
  await fleet.audit({ who: requireSession(request).who, ...entry });
}
