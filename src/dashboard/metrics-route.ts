import type { FastifyInstance } from 'fastify';
import type { Fleet } from '../app/open-fleet.js';
import { createFleetMetrics, type FleetMetricsOptions } from './fleet-metrics.js';

/**
 * `GET /metrics`, Prometheus text format, for any session or bearer token, including the metrics token (the only
 * route that one reaches). Metrics are followed from the server's start and stop with it.
 */
export function registerMetricsRoute(app: FastifyInstance, fleet: Fleet, options: FleetMetricsOptions = {}): void {
  const metrics = createFleetMetrics(fleet, {
    onError: (error) => app.log.warn({ err: error }, 'metrics: following the event streams failed; retrying'),
    ...options,
  });
  app.addHook('onClose', async () => metrics.close());
  app.get('/metrics', { config: { scrape: true } }, async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.scrape()),
  );
}
