import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import type { ControllerHandlerReturnType } from '@bull-board/api/typings/app';
import { FastifyAdapter } from '@bull-board/fastify';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Fleet } from '../app/open-fleet.js';
import { FleetError } from '../errors/index.js';
import { sendError, toHttpError } from './http-errors.js';

export const QUEUE_BOARD_PATH = '/queues';
/** The queue list is read again at most this often (a new campaign's queues appear on the next refresh). */
const REFRESH_MS = 3000;

/**
 * Bull Board's page, relaxed from the dashboard's CSP on /queues only, each for a reason:
 * - `base-uri 'self'`: the page sets `<base href="/queues/">` so that its relative asset URLs resolve;
 * - `style-src 'unsafe-inline'`: its loading placeholder uses a `<style>` element and `style` attributes.
 * Scripts stay `'self'` only (its bundles are files; its config block is JSON, never run), and every asset is
 * served from the package on this server: the Google Fonts stylesheet it links is removed from the page.
 */
export const QUEUE_BOARD_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const EXTERNAL_FONTS = /<link[^>]*fonts\.googleapis\.com[^>]*>\s*/g;

/**
 * Bull Board at /queues, read-only, behind the dashboard's own auth (any session or token may look; nothing but
 * GET and HEAD passes: queue and job actions belong to the campaign API, where the lifecycle rules apply). The
 * queues are the campaigns' (from the facade), refreshed as campaigns come and go.
 */
export async function registerQueueBoard(app: FastifyInstance, fleet: Fleet): Promise<void> {
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(QUEUE_BOARD_PATH);
  const board = createBullBoard({
    queues: [],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'fleet-rollout queues' } },
  });
  // Bull Board's own error answer would be a 500 for our 401/403: answer as every other route does.
  serverAdapter.setErrorHandler((error) => {
    const answer = toHttpError(error);
    // Its type lists the statuses it uses itself (no 401); the adapter sends whatever number it gets.
    const status = answer.status as ControllerHandlerReturnType['status'];
    return { status, body: { error: { code: answer.code, message: answer.message } } };
  });

  let refreshedAt = Number.NEGATIVE_INFINITY;
  let refreshing: Promise<void> | undefined;
  const refresh = async (): Promise<void> => {
    const campaigns = await fleet.campaigns();
    const queues = await Promise.all(campaigns.map((summary) => fleet.queues(summary.campaign.name)));
    board.replaceQueues(queues.flat().map(({ queue }) => new BullMQAdapter(queue, { readOnlyMode: true })));
    refreshedAt = Date.now();
  };

  await app.register(
    async (scope) => {
      scope.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
        reply.header('content-security-policy', QUEUE_BOARD_CSP);
        if (request.method !== 'GET' && request.method !== 'HEAD') {
          sendError(new FleetError('FR_ERR_DASHBOARD_FORBIDDEN', 'the queue board is read-only'), request, reply);
          return reply;
        }
        if (request.url.startsWith(`${QUEUE_BOARD_PATH}/api/`) && Date.now() - refreshedAt >= REFRESH_MS) {
          refreshing ??= refresh().finally(() => {
            refreshing = undefined;
          });
          await refreshing;
        }
        return undefined;
      });
      scope.addHook('onSend', async (_request, reply, payload) => {
        const type = String(reply.getHeader('content-type') ?? '');
        if (typeof payload !== 'string' || !type.startsWith('text/html')) return payload;
        return payload.replace(EXTERNAL_FONTS, '');
      });
      await scope.register(serverAdapter.registerPlugin());
    },
    { prefix: QUEUE_BOARD_PATH },
  );
}
