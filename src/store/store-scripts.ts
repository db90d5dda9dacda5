import type { Redis } from 'ioredis';
import {
  CAMPAIGN_STATE_LUA,
  IMPORT_STATE_LUA,
  MARK_SKIPPED_LUA,
  REMOVE_LUA,
  TRANSITION_LUA,
  TRANSITION_MANY_LUA,
  UPSERT_LUA,
} from './lua-scripts.js';
import { PAGE_BY_LEX_FILTERED_LUA, PAGE_BY_SCORE_LUA, PAGE_BY_SCORE_SEARCH_LUA } from './page-lua.js';

/**
 * The Lua scripts registered on a connection (ioredis EVALSHA, with EVAL fallback after a Redis restart
 * flushed the script cache). Every script takes one key: the campaign base (an index key for frPageByScore).
 */
type ScriptArg = string | number | Buffer;
type ScriptFn = (base: string, ...args: ScriptArg[]) => Promise<unknown>;

const SCRIPTS = {
  frTransition: TRANSITION_LUA,
  frTransitionMany: TRANSITION_MANY_LUA,
  frRemove: REMOVE_LUA,
  frUpsert: UPSERT_LUA,
  frMarkSkipped: MARK_SKIPPED_LUA,
  frCampaignState: CAMPAIGN_STATE_LUA,
  frImportState: IMPORT_STATE_LUA,
  frPageByScore: PAGE_BY_SCORE_LUA,
  frPageByLexFiltered: PAGE_BY_LEX_FILTERED_LUA,
  frPageByScoreSearch: PAGE_BY_SCORE_SEARCH_LUA,
} as const;

export type ScriptName = keyof typeof SCRIPTS;

export interface StoreScripts {
  run(name: ScriptName, base: string, args: readonly ScriptArg[]): Promise<unknown>;
}

export function registerStoreScripts(redis: Redis): StoreScripts {
  for (const [name, lua] of Object.entries(SCRIPTS)) {
    redis.defineCommand(name, { numberOfKeys: 1, lua });
  }
  const host = redis as unknown as Record<ScriptName, ScriptFn>;
  return {
    run: (name, base, args) => host[name].call(redis, base, ...args),
  };
}
