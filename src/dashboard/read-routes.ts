import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { Fleet } from '../app/open-fleet.js';
import { formatReportCsv, formatReportJson } from '../campaign/stream-report.js';
import {
  auditQuery,
  campaignParams,
  eventsQuery,
  exportQuery,
  type FilterQuery,
  toUserFilter,
  userParams,
  usersQuery,
} from './schemas.js';

const HEARTBEAT_MS = 15_000;

/** The read side: campaigns, status, the users table, one user, the export, the live events, the audit trail. */
export function registerReadRoutes(app: FastifyInstance, fleet: Fleet): void {
  // Live event streams end when the server closes (a hijacked reply would otherwise hold `close` open).
  const streams = new Set<AbortController>();
  app.addHook('preClose', async () => {
    for (const stream of streams) stream.abort();
  });
  app.get('/healthz', { config: { public: true } }, async () => ({ ok: true }));

  app.get('/api/campaigns', async () => ({ campaigns: await fleet.campaigns() }));

  app.get('/api/campaigns/:name', async (request) => {
    const { name } = campaignParams.parse(request.params);
    return fleet.status(name);
  });

  app.get('/api/campaigns/:name/users', async (request) => {
    const { name } = campaignParams.parse(request.params);
    const query = usersQuery.parse(request.query);
    const page = await fleet.users(name, toUserFilter(query), {
      limit: query.limit,
      ...(query.cursor !== undefined && { cursor: query.cursor }),
      ...(query.sort !== undefined && { sort: query.sort }),
    });
    return { users: page.users, ...(page.nextCursor !== undefined && { nextCursor: page.nextCursor }) };
  });

  app.get('/api/campaigns/:name/users/:username', async (request) => {
    const { name, username } = userParams.parse(request.params);
    return fleet.user(name, username);
  });

  app.get('/api/campaigns/:name/export', async (request, reply) => {
    const { name } = campaignParams.parse(request.params);
    const query = exportQuery.parse(request.query);
    await fleet.campaign(name); // a missing campaign answers 404 before the stream starts
    const rows = fleet.report(name, toUserFilter(query));
    const body = query.format === 'csv' ? formatReportCsv(rows) : formatReportJson(rows);
    return reply
      .type(query.format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8')
      .header('content-disposition', `attachment; filename="${name}-users.${query.format}"`)
      .send(Readable.from(body));
  });

  app.get('/api/campaigns/:name/events', async (request, reply) => {
    const { name } = campaignParams.parse(request.params);
    const { from } = eventsQuery.parse(request.query);
    await fleet.campaign(name);
    const lastId = request.headers['last-event-id'];
    const start = typeof lastId === 'string' && /^\d+-\d+$/.test(lastId) ? lastId : (from ?? '$');
    const stop = new AbortController();
    streams.add(stop);
    reply.hijack();
    reply.raw.writeHead(200, {
      ...(reply.getHeaders() as Record<string, string>),
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // The connection ends with the stream (a kept-alive socket would hold the server's close for seconds).
      connection: 'close',
    });
    reply.raw.write(': live\n\n');
    const heartbeat = setInterval(() => reply.raw.write(': ping\n\n'), HEARTBEAT_MS);
    request.raw.on('close', () => stop.abort());
    try {
      for await (const event of fleet.events(name, { from: start, signal: stop.signal, blockMs: 1000 })) {
        reply.raw.write(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
      }
    } catch (error) {
      if (!stop.signal.aborted) request.log.warn({ err: error }, 'event stream ended');
    } finally {
      clearInterval(heartbeat);
      streams.delete(stop);
      reply.raw.end();
    }
  });

  app.get('/api/audit', async (request) => {
    const query = auditQuery.parse(request.query);
    return fleet.auditLog({ limit: query.limit, ...(query.cursor !== undefined && { cursor: query.cursor }) });
  });
}

/** How many users a filter matches (the count an action confirms). */
export function countUsers(fleet: Fleet, name: string, query: FilterQuery): Promise<number> {
  return fleet.countUsers(name, toUserFilter(query));
}
