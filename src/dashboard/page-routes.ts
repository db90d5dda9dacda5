import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Fleet } from '../app/open-fleet.js';
import { parseCampaignText } from '../config/parse-campaign-text.js';
import { FleetError } from '../errors/index.js';
import { audit } from './action-routes.js';
import { requireSession } from './auth.js';
import { campaignFileStash } from './campaign-file-stash.js';
import { countUsers } from './read-routes.js';
import { campaignFileName, campaignParams, filterQuery, userParams } from './schemas.js';

const insightsQuery = z.object({ minutes: z.coerce.number().int().min(5).max(1440).default(60) }).strict();
const agentsQuery = z.object({ campaign: z.string().trim().min(1).max(64).optional() }).strict();
const haltBody = z.object({ reason: z.string().trim().min(1).max(200) }).strict();
const fileQuery = z.object({ file: campaignFileName.default('campaign.yaml') }).strict();
const MAX_CAMPAIGN_FILE = 64 * 1024;

/**
 * What the dashboard's pages need beyond the JSON API of read-routes/action-routes: the campaign page's charts,
 * the schedule (windows, wave, slots), the agents alive, the users table's match count, a user's PRF (view, download), halt, and a campaign file checked
 * before an upload.
 */
export function registerPageRoutes(app: FastifyInstance, fleet: Fleet): void {
  for (const type of ['application/yaml', 'text/yaml', 'application/x-yaml']) {
    app.addContentTypeParser(type, { parseAs: 'string', bodyLimit: MAX_CAMPAIGN_FILE }, (_request, body, done) =>
      done(null, body),
    );
  }

  app.get('/api/campaigns/:name/insights', async (request) => {
    const { name } = campaignParams.parse(request.params);
    const { minutes } = insightsQuery.parse(request.query);
    return fleet.insights(name, minutes);
  });

  // Windows per site, the current wave against its threshold, a halt's failing users, and deploy slots vs caps.
  app.get('/api/campaigns/:name/schedule', async (request) => {
    const { name } = campaignParams.parse(request.params);
    const [schedule, slots] = await Promise.all([fleet.scheduleStatus(name), fleet.slots(name)]);
    return { schedule, ...(slots && { slots }) };
  });

  app.get('/api/agents', async (request) => {
    const { campaign } = agentsQuery.parse(request.query);
    return { agents: await fleet.agents(campaign) };
  });

  app.get('/api/campaigns/:name/count', async (request) => {
    const { name } = campaignParams.parse(request.params);
    const filter = filterQuery.strict().parse(request.query);
    await fleet.campaign(name);
    return { users: await countUsers(fleet, name, filter) };
  });

  app.get('/api/campaigns/:name/users/:username/prf', async (request) => {
    const { name, username } = userParams.parse(request.params);
    const { fileName, text, sha256, recordedSha256, bytes } = await fleet.profile(name, username);
    return { fileName, text, sha256, bytes: bytes.length, ...(recordedSha256 !== undefined && { recordedSha256 }) };
  });

  app.get('/api/campaigns/:name/users/:username/prf/download', async (request, reply) => {
    const { name, username } = userParams.parse(request.params);
    const profile = await fleet.profile(name, username);
    // The file name is the username's stem (CSV grammar: no quote, slash or control character).
    return reply
      .type('application/octet-stream')
      .header('content-disposition', `attachment; filename="${profile.fileName.replace(/["\\]/g, '_')}"`)
      .send(Buffer.from(profile.bytes));
  });

  app.post('/api/campaigns/:name/halt', { config: { act: true } }, async (request) => {
    const { name } = campaignParams.parse(request.params);
    const { reason } = haltBody.parse(request.body);
    const campaign = await fleet.halt(name, `${reason} (halted by ${requireSession(request).who})`);
    await audit(fleet, request, { action: 'halt', campaign: name, filter: { reason }, outcome: campaign.state });
    return { campaign };
  });

  app.post('/api/campaign-files', { config: { act: true } }, async (request) => {
    const { file } = fileQuery.parse(request.query);
    if (typeof request.body !== 'string') {
      throw new FleetError('FR_ERR_USAGE', 'send the campaign file as the body with content-type application/yaml');
    }
    const settings = parseCampaignText(request.body, file);
    return { id: campaignFileStash(app).put(settings, file, requireSession(request).who), file };
  });
}
