import type { Redis } from 'ioredis';

/**
 * The audit trail of admin actions (dashboard and, later, the CLI): one Redis stream per prefix,
 * `<p>:fr:audit` (beside the record keys of src/store/keys.ts), trimmed to ~100,000 entries, read newest first.
 * The dashboard reaches it only through the Fleet facade (`audit`, `auditLog`): it holds no Redis key.
 */
export interface AuditEntry {
  /** Who acted: the name of the token the session logged in with (never the token). */
  readonly who: string;
  /** What: `pause`, `retry`, `import`… */
  readonly action: string;
  readonly campaign?: string;
  /** The selection or parameters the action took (filter fields, usernames…). */
  readonly filter?: Readonly<Record<string, unknown>>;
  /** How many users it touched (moved), when it touches users. */
  readonly users?: number;
  /** A short outcome (`refused: 2`, the new campaign state…). */
  readonly outcome?: string;
}

export interface AuditRecord extends AuditEntry {
  readonly id: string;
  readonly at: number;
}

export interface AuditPage {
  readonly entries: readonly AuditRecord[];
  /** Pass back to read older entries; absent at the end. */
  readonly nextCursor?: string;
}

export interface AuditFacade {
  /** Appends one entry (when = now) and answers it with its id. */
  audit(entry: AuditEntry): Promise<AuditRecord>;
  /** Entries newest first, `limit` at a time (1..500). */
  auditLog(page?: { readonly cursor?: string; readonly limit?: number }): Promise<AuditPage>;
}

const MAX_ENTRIES = 100_000;
const STREAM_ID = /^\d{1,20}-\d{1,20}$/;

export function createAuditLog(redis: Redis, prefix: string, now: () => number): AuditFacade {
  const key = `${prefix}:fr:audit`;
  return {
    async audit(entry) {
      const at = now();
      const record = { ...entry, at };
      const id = (await redis.xadd(key, 'MAXLEN', '~', MAX_ENTRIES, '*', 'e', JSON.stringify(record))) as string;
      return { ...record, id };
    },
    async auditLog(page = {}) {
      const limit = Math.max(1, Math.min(500, Math.trunc(page.limit ?? 50)));
      const start = page.cursor !== undefined && STREAM_ID.test(page.cursor) ? `(${page.cursor}` : '+';
      const rows = (await redis.xrevrange(key, start, '-', 'COUNT', limit + 1)) as Array<[string, string[]]>;
      const entries = rows.slice(0, limit).map(([id, fields]) => decode(id, fields));
      const last = entries.at(-1);
      return rows.length > limit && last ? { entries, nextCursor: last.id } : { entries };
    },
  };
}

function decode(id: string, fields: readonly string[]): AuditRecord {
  const index = fields.indexOf('e');
  const parsed = JSON.parse(index >= 0 ? (fields[index + 1] ?? '{}') : '{}') as Omit<AuditRecord, 'id'>;
  return { ...parsed, id };
}
