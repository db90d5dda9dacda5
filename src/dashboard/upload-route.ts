import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import type { FastifyInstance } from 'fastify';
import type { Fleet } from '../app/open-fleet.js';
import { FleetError } from '../errors/index.js';
import { audit } from './action-routes.js';
import { requireSession } from './auth.js';
import { campaignFileStash } from './campaign-file-stash.js';
import { uploadQuery } from './schemas.js';

/** Rejected rows listed in one answer at most (the count is always exact). */
const MAX_LISTED = 1000;

export interface Rejection {
  readonly line: number;
  readonly column: string;
  readonly value: string;
  readonly reason: string;
}

/**
 * `POST /api/campaigns?name=<campaign>[&start=true][&file=<name>][&settings=<id>]` with the CSV as the raw body
 * (`text/csv`; `settings` names a campaign file checked by `POST /api/campaign-files`):
 * streamed (never buffered whole) into `fleet.importCsv` with `allowRejects: false`, so a CSV with one bad row
 * imports and queues nothing and the answer lists every rejected row with its line and reason.
 */
export function registerUploadRoute(app: FastifyInstance, fleet: Fleet, maxBytes: number): void {
  for (const type of ['text/csv', 'application/octet-stream']) {
    app.addContentTypeParser(type, (_request, payload, done) => done(null, payload));
  }

  app.post('/api/campaigns', { config: { act: true } }, async (request, reply) => {
    const query = uploadQuery.parse(request.query);
    const body = request.body;
    if (!body || typeof (body as NodeJS.ReadableStream).pipe !== 'function') {
      throw new FleetError('FR_ERR_USAGE', 'send the CSV as the request body with content-type text/csv');
    }
    const declared = Number(request.headers['content-length'] ?? 0);
    if (declared > maxBytes) throw new FleetError('FR_ERR_DASHBOARD_TOO_LARGE');
    const settings =
      query.settings === undefined
        ? undefined
        : campaignFileStash(app).take(query.settings, requireSession(request).who);
    const limited = limitBytes(body as Readable, maxBytes);
    const stream = limited.stream;
    const reportDir = await mkdtemp(join(tmpdir(), 'fleet-dashboard-'));
    try {
      const result = await fleet
        .importCsv({
          campaign: query.name,
          source: { stream, name: query.file ?? `${query.name}.csv` },
          allowRejects: false,
          start: query.start === 'true',
          ...(settings && { settings: settings.file }),
          reportDir,
        })
        .catch((error: unknown) => {
          throw limited.tooLarge() ? new FleetError('FR_ERR_DASHBOARD_TOO_LARGE') : error;
        });
      if (result.rejected > 0) {
        const rejections = result.reportPath ? await readRejections(result.reportPath) : [];
        const error = new FleetError(
          'FR_ERR_DASHBOARD_ROWS_REJECTED',
          `${result.rejected} row(s) rejected; nothing was imported`,
        );
        return reply.code(error.httpStatus).send({
          error: { code: error.code, message: error.message },
          rejected: result.rejected,
          valid: result.valid,
          rejections,
        });
      }
      const { reportPath: _unused, ...summary } = result;
      await audit(fleet, request, {
        action: 'import',
        campaign: query.name,
        filter: {
          file: query.file ?? `${query.name}.csv`,
          start: query.start === 'true',
          ...(settings && { campaignFile: settings.name }),
        },
        users: result.queued,
        outcome: `valid ${result.valid}, added ${result.added}, changed ${result.changed}`,
      });
      return reply.code(201).send(summary);
    } finally {
      await rm(reportDir, { recursive: true, force: true });
    }
  });
}

/**
 * The body as a stream that fails with FR_ERR_DASHBOARD_TOO_LARGE past `maxBytes` (a chunked upload has no length).
 * The request itself is never destroyed (its socket carries the answer): past the limit it is drained unread.
 */
function limitBytes(body: Readable, maxBytes: number): { stream: Readable; tooLarge: () => boolean } {
  const out = new PassThrough();
  out.on('error', () => undefined); // the import reports it (it may not be reading yet)
  let seen = 0;
  let failed = false;
  body.on('data', (chunk: Buffer) => {
    if (failed) return;
    seen += chunk.length;
    if (seen > maxBytes) {
      failed = true;
      out.destroy(new FleetError('FR_ERR_DASHBOARD_TOO_LARGE'));
      body.resume();
      return;
    }
    if (!out.write(chunk)) body.pause();
  });
  out.on('drain', () => body.resume());
  body.on('end', () => {
    if (!failed) out.end();
  });
  body.on('error', (error) => {
    if (!failed) out.destroy(error);
  });
  return { stream: out, tooLarge: () => failed };
}

async function readRejections(path: string): Promise<Rejection[]> {
  const rows = parse(await readFile(path, 'utf8'), { columns: true, skip_empty_lines: true }) as Array<
    Record<string, string>
  >;
  return rows.slice(0, MAX_LISTED).map((row) => ({
    line: Number(row['line']),
    column: row['column'] ?? '',
    value: row['value'] ?? '',
    reason: row['reason'] ?? '',
  }));
}
