import { createHash } from 'node:crypto';
import { FleetError } from '../errors/index.js';

/**
 * Every Redis key of our records, in one place. All live under `<prefix>:fr:` so they never collide with
 * BullMQ's `<prefix>:<queue>:` keys (queue names start with `gen-`/`dep-`). Per-campaign keys share the hash tag
 * `{<campaign>}` so one campaign's keys sit in one Cluster slot and a Lua script may touch them all.
 *
 *   <p>:fr:campaigns                 zset  campaign names (score = createdAt)
 *   <p>:fr:c:{<c>}:meta              hash  campaign record
 *   <p>:fr:c:{<c>}:u:<userKey>       hash  user record (see user-codec.ts), every value ≤ 64 bytes (listpack)
 *   <p>:fr:c:{<c>}:s:<userKey>       string the user's spec as compact JSON (apart: it would make the hash a hashtable)
 *   <p>:fr:c:{<c>}:a:<userKey>       list  attempt history, newest first, ≤ 20
 *   <p>:fr:c:{<c>}:count             hash  users per state (changed only inside the Lua scripts)
 *   <p>:fr:c:{<c>}:st:<state>        zset  userKey by updatedAt
 *   <p>:fr:c:{<c>}:site:<site>       zset  userKey, score 0 (lexicographic paging)
 *   <p>:fr:c:{<c>}:code:<code>       zset  userKey, score 0
 *   <p>:fr:c:{<c>}:stage:<stage>     zset  userKey, score 0 (the step of the user's current or last attempt)
 *   <p>:fr:c:{<c>}:names             zset  `lowercase(username)\0userKey`, score 0
 *   <p>:fr:c:{<c>}:tput              hash  minute epoch ms → users that reached a final state
 *   <p>:fr:c:{<c>}:imp               string import lease (token): an importer is alive right now
 *   <p>:fr:c:{<c>}:seen              zset  userKey by the number of the last import whose CSV held its row (--prune)
 *   <p>:fr:c:{<c>}:ev                stream the campaign's events (user and campaign moves), trimmed to ~10,000
 *   <p>:fr:c:{<c>}:wv                hash  `<wave>:<state>` → users (store/wave-lua.ts; changed only inside Lua)
 *   <p>:fr:c:{<c>}:wf:<wave>         zset  users of the wave that are failed or retrying (who halted it)
 *   <p>:fr:c:{<c>}:ww:<wave>         zset  users of the wave waiting to deploy (whom an opening wave wakes)
 *   <p>:fr:c:{<c>}:dur               list  durations of the last 100 successful applies (the deploy estimate)
 *   <p>:fr:c:{<c>}:verification      hash  userKey → last `verify` result (verification-store.ts)
 *   <p>:fr:archive                   hash  `<c>@<archivedAt>` → summary of an archived campaign (campaign-purge.ts)
 *   <p>:fr:audit                     stream admin actions (app/audit-log.ts)
 * Deleting a campaign (campaign-purge.ts) removes every `<p>:fr:c:{<c>}:*` key and its name in `campaigns`.
 */
const CAMPAIGN_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** Names Windows reserves for devices: a staging folder `C:\…\staging\NUL` cannot be created. */
const WINDOWS_DEVICE_NAME = /^(CON|PRN|AUX|NUL|COM[1-9]|LPT[1-9])$/i;

export function assertCampaignName(name: string): void {
  const shown = JSON.stringify(name.slice(0, 80));
  if (!CAMPAIGN_NAME.test(name)) {
    throw new FleetError(
      'FR_ERR_CAMPAIGN_NAME_INVALID',
      `invalid campaign name ${shown}: use 1-64 letters, digits, '_' or '-'`,
    );
  }
  if (!/^[A-Za-z0-9]/.test(name)) {
    throw new FleetError(
      'FR_ERR_CAMPAIGN_NAME_INVALID',
      `invalid campaign name ${shown}: it must start with a letter or a digit (a name like - or -- reads as a command-line option)`,
    );
  }
  if (WINDOWS_DEVICE_NAME.test(name)) {
    throw new FleetError(
      'FR_ERR_CAMPAIGN_NAME_INVALID',
      `invalid campaign name ${shown}: Windows reserves it for a device, so its staging folder could not be created`,
    );
  }
}

/** Stable, PII-free id of a user inside a campaign. */
export function toUserKey(username: string): string {
  return createHash('sha256').update(normalizeUsername(username)).digest('hex').slice(0, 20);
}

export function normalizeUsername(username: string): string {
  return username.normalize('NFC').toLowerCase();
}

/** Member of the name index: sorts by name, and the userKey after NUL makes it unique. */
export function toNameMember(username: string, userKey: string): string {
  return `${normalizeUsername(username)}\0${userKey}`;
}

export function parseNameMember(member: string): string {
  return member.slice(member.lastIndexOf('\0') + 1);
}

export interface StoreKeys {
  readonly campaigns: string;
  /** Base of every per-campaign key; the Lua scripts derive the others from it with the suffixes below. */
  campaignBase(campaign: string): string;
  campaign(campaign: string): string;
  user(campaign: string, userKey: string): string;
  spec(campaign: string, userKey: string): string;
  attempts(campaign: string, userKey: string): string;
  counts(campaign: string): string;
  byState(campaign: string, state: string): string;
  bySite(campaign: string, site: string): string;
  byCode(campaign: string, code: string): string;
  byStage(campaign: string, stage: string): string;
  names(campaign: string): string;
  throughput(campaign: string): string;
  importGuard(campaign: string): string;
  seen(campaign: string): string;
  events(campaign: string): string;
  /** SCAN pattern of every user hash of a campaign (recount only). */
  userPattern(campaign: string): string;
  /** SCAN pattern of every key of a campaign (cleanup in tests). */
  campaignPattern(campaign: string): string;
}

/** Suffixes shared with the Lua scripts (they build keys from the campaign base). */
export const KEY_SUFFIX = {
  meta: ':meta',
  user: ':u:',
  spec: ':s:',
  attempts: ':a:',
  counts: ':count',
  state: ':st:',
  site: ':site:',
  code: ':code:',
  stage: ':stage:',
  names: ':names',
  throughput: ':tput',
  importGuard: ':imp',
  seen: ':seen',
  events: ':ev',
} as const;

export function createStoreKeys(prefix: string): StoreKeys {
  const root = `${prefix}:fr`;
  const base = (campaign: string): string => `${root}:c:{${campaign}}`;
  return {
    campaigns: `${root}:campaigns`,
    campaignBase: base,
    campaign: (c) => base(c) + KEY_SUFFIX.meta,
    user: (c, userKey) => base(c) + KEY_SUFFIX.user + userKey,
    spec: (c, userKey) => base(c) + KEY_SUFFIX.spec + userKey,
    attempts: (c, userKey) => base(c) + KEY_SUFFIX.attempts + userKey,
    counts: (c) => base(c) + KEY_SUFFIX.counts,
    byState: (c, state) => base(c) + KEY_SUFFIX.state + state,
    bySite: (c, site) => base(c) + KEY_SUFFIX.site + site,
    byCode: (c, code) => base(c) + KEY_SUFFIX.code + code,
    byStage: (c, stage) => base(c) + KEY_SUFFIX.stage + stage,
    names: (c) => base(c) + KEY_SUFFIX.names,
    throughput: (c) => base(c) + KEY_SUFFIX.throughput,
    importGuard: (c) => base(c) + KEY_SUFFIX.importGuard,
    seen: (c) => base(c) + KEY_SUFFIX.seen,
    events: (c) => base(c) + KEY_SUFFIX.events,
    userPattern: (c) => `${escapeGlob(base(c))}${KEY_SUFFIX.user}*`,
    campaignPattern: (c) => `${escapeGlob(base(c))}:*`,
  };
}

/** SCAN/MATCH glob escaping ({ } are literal in globs, but [ ] * ? \ are not). */
export function escapeGlob(text: string): string {
  return text.replace(/[[\]*?\\]/g, '\\$&');
}
