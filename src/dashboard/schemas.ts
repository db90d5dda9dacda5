import { z } from 'zod';
import { isErrorCode } from '../errors/index.js';
import { isUserState, type UserState } from '../rollout/states.js';
import type { UserFilter } from '../store/types.js';

/** Query and body schemas of the dashboard API (zod; a failure answers FR_ERR_USAGE, 400). */

const text = (max: number) => z.string().trim().min(1).max(max);
const state = text(32).refine(isUserState, { message: 'unknown user state' });
const code = text(64).refine(isErrorCode, { message: 'unknown error code' });

/** A campaign file's name as uploaded (a bare file name: its extension picks YAML or JSON; no folder). */
export const campaignFileName = text(200).regex(/^[^/\\\0]+$/);

export const campaignParams = z.object({ name: text(64) }).strict();
export const userParams = z.object({ name: text(64), username: text(256) }).strict();

/** The users table's filters (query string): all optional, combined with AND. */
export const filterQuery = z.object({
  state: state.optional(),
  stage: z.enum(['apply', 'rollback']).optional(),
  site: text(128).optional(),
  code: code.optional(),
  q: text(128).optional(),
  /** Username prefix: walks the name index (O(log n) a page), where `q` (a substring) is a bounded scan. */
  prefix: text(128).optional(),
});
export type FilterQuery = z.infer<typeof filterQuery>;

export const usersQuery = filterQuery
  .extend({
    cursor: z.string().max(512).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
    /** Served by an index: username (name index) or last change (state index: needs `state`); `-` descending. */
    sort: z.enum(['name', '-name', 'updated', '-updated']).optional(),
  })
  .strict();

export const exportQuery = filterQuery.extend({ format: z.enum(['csv', 'json']).default('csv') }).strict();

export const eventsQuery = z.object({ from: z.string().max(64).optional() }).strict();

export const auditQuery = z
  .object({
    cursor: z.string().max(64).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(50),
  })
  .strict();

/** Which users a retry or rollback selects: one user, a list, or every user matching a filter. */
export const selectionBody = z
  .object({
    user: text(256).optional(),
    users: z.array(text(256)).min(1).max(1000).optional(),
    filter: filterQuery
      .strict()
      .refine((f) => f.state !== undefined || f.code !== undefined, {
        message: 'a filter selection names a state or an error code (what "all matching" means must be explicit)',
      })
      .optional(),
    dryRun: z.boolean().default(false),
  })
  .strict()
  .refine((b) => [b.user, b.users, b.filter].filter((part) => part !== undefined).length === 1, {
    message: 'give exactly one of user, users or filter',
  });
export type SelectionBody = z.infer<typeof selectionBody>;

export const pauseBody = z
  .object({ reason: text(200).optional() })
  .strict()
  .optional();

export const uploadQuery = z
  .object({
    name: text(64),
    start: z.enum(['true', 'false']).default('false'),
    file: campaignFileName.optional(),
    /** The id `POST /api/campaign-files` answered for the campaign file to import with. */
    settings: z
      .string()
      .regex(/^[A-Za-z0-9_-]{10,64}$/)
      .optional(),
  })
  .strict();

/** The store filter a users query stands for (each field has its index in the store). */
export function toUserFilter(query: FilterQuery): UserFilter {
  return {
    ...(query.state !== undefined && { state: query.state as UserState }),
    ...(query.site !== undefined && { site: query.site }),
    ...(query.stage !== undefined && { stage: query.stage }),
    ...(query.code !== undefined && { code: query.code }),
    ...(query.q !== undefined && { search: query.q }),
    ...(query.prefix !== undefined && { prefix: query.prefix }),
  };
}
