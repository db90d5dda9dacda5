import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { CampaignFile } from '../config/campaign-schema.js';
import { FleetError } from '../errors/index.js';

/**
 * Campaign files checked by `POST /api/campaign-files`, kept in this process for the upload that follows (the CSV
 * upload is a raw body, so the file travels first and the upload names it). Each lives 15 minutes, one use.
 */
const TTL_MS = 15 * 60_000;
const MAX_KEPT = 100;

interface Stashed {
  readonly file: CampaignFile;
  readonly name: string;
  readonly who: string;
  readonly expiresAt: number;
}

export class CampaignFileStash {
  readonly #entries = new Map<string, Stashed>();

  put(file: CampaignFile, name: string, who: string, now = Date.now()): string {
    for (const [id, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(id);
    while (this.#entries.size >= MAX_KEPT) this.#entries.delete(this.#entries.keys().next().value as string);
    const id = randomBytes(16).toString('base64url');
    this.#entries.set(id, { file, name, who, expiresAt: now + TTL_MS });
    return id;
  }

  /** The file stashed under `id` by the same token (another session's file is as good as unknown). */
  take(id: string, who: string, now = Date.now()): { file: CampaignFile; name: string } {
    const entry = this.#entries.get(id);
    if (!entry || entry.expiresAt <= now || entry.who !== who) {
      throw new FleetError('FR_ERR_USAGE', 'unknown or expired campaign file: send it again');
    }
    this.#entries.delete(id);
    return { file: entry.file, name: entry.name };
  }
}

const stashes = new WeakMap<FastifyInstance, CampaignFileStash>();

/** The stash shared by the routes of one dashboard server. */
export function campaignFileStash(app: FastifyInstance): CampaignFileStash {
  let stash = stashes.get(app);
  if (!stash) {
    stash = new CampaignFileStash();
    stashes.set(app, stash);
  }
  return stash;
}
