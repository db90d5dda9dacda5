import { FINAL_USER_STATES, IN_FLIGHT_USER_STATES } from '../rollout/states.js';

/**
 * The Lua scripts that change user state. Each one moves the record, its index memberships and the per-state
 * counters in one atomic step, so counters can never drift from the records. KEYS[1] is always the campaign base
 * key; other keys are derived with the suffixes of keys.ts (all share the campaign's hash tag).
 * User hash fields: see user-codec.ts (s state, r run, ec error code, si site, fi finishedAt, …).
 */
const PRELUDE = `
local FINAL = ',${FINAL_USER_STATES.join(',')},'
local INFLIGHT = {${IN_FLIGHT_USER_STATES.map((s) => `'${s}'`).join(',')}}
local base = KEYS[1]
local function in_list(csv, v) return v ~= nil and v ~= false and string.find(csv, ',' .. v .. ',', 1, true) ~= nil end
local function minute(now) return string.format('%.0f', now - now % 60000) end
-- moves a user between state indexes and counters; counts a completion when it newly reaches a final state
-- (except skipped: an invalid row is not work done, and would skew the pace)
local function set_state(uk, old, new, now)
  if old then
    redis.call('ZREM', base .. ':st:' .. old, uk)
    redis.call('HINCRBY', base .. ':count', old, -1)
  end
  redis.call('ZADD', base .. ':st:' .. new, now, uk)
  redis.call('HINCRBY', base .. ':count', new, 1)
  if new ~= 'skipped' and in_list(FINAL, new) and not in_list(FINAL, old) then
    redis.call('HINCRBY', base .. ':tput', minute(now), 1)
  end
end
local function move_member(kind, old, new, uk)
  if old == false or old == '' then old = nil end
  if new == false or new == '' then new = nil end
  if old == new then return end
  if old then redis.call('ZREM', base .. kind .. old, uk) end
  if new then redis.call('ZADD', base .. kind .. new, 0, uk) end
end
-- a running campaign with nothing left in flight is done (not while an import is still writing its users)
local function check_done(now)
  local meta = base .. ':meta'
  if redis.call('HGET', meta, 'state') ~= 'running' then return end
  if redis.call('EXISTS', base .. ':imp') == 1 then return end
  local counts = redis.call('HMGET', base .. ':count', unpack(INFLIGHT))
  for _, c in ipairs(counts) do
    if c and tonumber(c) > 0 then return end
  end
  redis.call('HSET', meta, 'state', 'done', 'stateReason', 'every user reached a final state',
    'finishedAt', now, 'updatedAt', now)
end
`;

/**
 * One user's move: userKey, run, from (',a,b,' or ''), to, now (string), patch JSON {set:{field:value},
 * del:[field]}, then optionally an attempt JSON ('' for none) and the history bound: the attempt is appended in
 * the same atomic step, only when the move happens, so a client replaying the script (reply lost in a Redis
 * restart) cannot add it twice. 0 refused, 1 done, 2 already there.
 */
const TRANSITION_FN = `
local function transition_one(uk, run, from, to, nowstr, patchjson, attempt, kept)
  local now = tonumber(nowstr)
  local ukey = base .. ':u:' .. uk
  local cur = redis.call('HMGET', ukey, 's', 'r', 'ec')
  if not cur[1] then return 0 end
  if tonumber(cur[2]) ~= tonumber(run) then return 0 end
  local old = cur[1]
  if old == to and in_list(FINAL, to) then return 2 end
  if from ~= '' and not in_list(from, old) then return 0 end
  local patch = cjson.decode(patchjson)
  local fields = {'s', to, 'ua', nowstr}
  for k, v in pairs(patch.set) do
    fields[#fields + 1] = k
    fields[#fields + 1] = v
  end
  if in_list(FINAL, to) then
    fields[#fields + 1] = 'fi'
    fields[#fields + 1] = nowstr
  else
    redis.call('HDEL', ukey, 'fi')
  end
  redis.call('HSET', ukey, unpack(fields))
  if #patch.del > 0 then redis.call('HDEL', ukey, unpack(patch.del)) end
  move_member(':code:', cur[3], redis.call('HGET', ukey, 'ec'), uk)
  set_state(uk, old, to, now)
  if attempt and attempt ~= '' then
    local akey = base .. ':a:' .. uk
    redis.call('LPUSH', akey, attempt)
    redis.call('LTRIM', akey, 0, tonumber(kept) - 1)
  end
  return 1
end
`;

/** ARGV: see transition_one (attempt and bound optional). 0 refused, 1 done, 2 already there. */
export const TRANSITION_LUA = `${PRELUDE}${TRANSITION_FN}
local r = transition_one(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8])
-- only a move to a final state can leave nothing in flight
if r == 1 and in_list(FINAL, ARGV[4]) then check_done(ARGV[5]) end
return r
`;

/**
 * Many users' moves in one call (the generate stage records a chunk at once). ARGV: now, then 8 per user as
 * transition_one takes them (attempt '' for none). Each move is checked on its own; returns one result per user.
 */
export const TRANSITION_MANY_LUA = `${PRELUDE}${TRANSITION_FN}
local out = {}
local moved = false
for i = 2, #ARGV, 8 do
  local r = transition_one(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6],
    ARGV[i + 7])
  if r == 1 and in_list(FINAL, ARGV[i + 3]) then moved = true end
  out[#out + 1] = r
end
if moved then check_done(ARGV[1]) end -- only moves to a final state can leave nothing in flight
return out
`;

/** ARGV: userKey, now. Returns the new run, -1 when the user does not exist, -2 when it is skipped (invalid row). */
export const REQUEUE_LUA = `${PRELUDE}
local uk, now = ARGV[1], tonumber(ARGV[2])
local ukey = base .. ':u:' .. uk
local cur = redis.call('HMGET', ukey, 's', 'r', 'ec')
if not cur[1] then return -1 end
if cur[1] == 'skipped' then return -2 end
local run = tonumber(cur[2]) + 1
redis.call('HSET', ukey, 's', 'queued', 'r', run, 'at', 0, 'ua', ARGV[2])
redis.call('HDEL', ukey, 'fa', 'na', 'e', 'ec', 'fi')
move_member(':code:', cur[3], nil, uk)
set_state(uk, cur[1], 'queued', now)
return run
`;

/**
 * ARGV: now, then 9 per row: userKey, username, name member, line, spec JSON, specHash, host, site, displayName.
 * Unchanged specHash → untouched. New or changed → queued with run + 1. Returns per row {kind, run}:
 * kind 0 unchanged, 1 added, 2 changed.
 */
export const UPSERT_LUA = `${PRELUDE}
local now = tonumber(ARGV[1])
local out = {}
for i = 2, #ARGV, 9 do
  local uk, sh, host, site, dn = ARGV[i], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7], ARGV[i + 8]
  local ukey = base .. ':u:' .. uk
  local cur = redis.call('HMGET', ukey, 's', 'r', 'sh', 'si', 'ec')
  if cur[1] and cur[3] == sh then
    out[#out + 1] = 0
    out[#out + 1] = tonumber(cur[2])
  else
    local run = 1
    if cur[1] then run = tonumber(cur[2]) + 1 end
    redis.call('HSET', ukey, 'un', ARGV[i + 1], 'ln', ARGV[i + 3], 'sh', sh, 's', 'queued', 'r', run, 'at', 0,
      'ua', ARGV[1])
    redis.call('SET', base .. ':s:' .. uk, ARGV[i + 4])
    redis.call('HDEL', ukey, 'fa', 'na', 'e', 'ec', 'fi', 'ck')
    for _, f in ipairs({{'h', host}, {'si', site}, {'dn', dn}}) do
      if f[2] == '' then redis.call('HDEL', ukey, f[1]) else redis.call('HSET', ukey, f[1], f[2]) end
    end
    if not cur[1] then
      redis.call('HSET', ukey, 'ca', ARGV[1])
      redis.call('ZADD', base .. ':names', 0, ARGV[i + 2])
    end
    move_member(':site:', cur[4], site, uk)
    move_member(':code:', cur[5], nil, uk)
    set_state(uk, cur[1] or nil, 'queued', now)
    out[#out + 1] = cur[1] and 2 or 1
    out[#out + 1] = run
  end
end
return out
`;

/**
 * ARGV: now, then 6 per row: userKey, username, name member, line, error JSON, error code.
 * New users and users still in flight become skipped (run + 1 makes their jobs stale); users already resting in
 * another final state keep it (an applied user stays applied even if its row is now invalid).
 */
export const MARK_SKIPPED_LUA = `${PRELUDE}
local now = tonumber(ARGV[1])
for i = 2, #ARGV, 6 do
  local uk, ec = ARGV[i], ARGV[i + 5]
  local ukey = base .. ':u:' .. uk
  local cur = redis.call('HMGET', ukey, 's', 'r', 'ec')
  if not cur[1] or cur[1] == 'skipped' or not in_list(FINAL, cur[1]) then
    local run = 0
    if cur[1] then run = tonumber(cur[2]) + (cur[1] == 'skipped' and 0 or 1) end
    redis.call('HSET', ukey, 'un', ARGV[i + 1], 'ln', ARGV[i + 3], 's', 'skipped', 'r', run, 'at', 0,
      'e', ARGV[i + 4], 'ec', ec, 'sh', '', 'ua', ARGV[1], 'fi', ARGV[1])
    if not cur[1] then
      redis.call('HSET', ukey, 'ca', ARGV[1])
      redis.call('ZADD', base .. ':names', 0, ARGV[i + 2])
    end
    move_member(':code:', cur[3], ec, uk)
    if cur[1] ~= 'skipped' then set_state(uk, cur[1] or nil, 'skipped', now) end
  end
end
return 1
`;

/**
 * End of an import's write phase. ARGV: token, now. Drops the import guard (key \`:imp\`, set by beginImport with a
 * lease) if it is still ours, then ends the campaign when it is running with nothing in flight: agents may have
 * finished every user written so far while the guard held \`done\` back.
 */
export const END_IMPORT_LUA = `${PRELUDE}
if redis.call('GET', base .. ':imp') == ARGV[1] then redis.call('DEL', base .. ':imp') end
check_done(ARGV[2])
return 1
`;

/**
 * ARGV: to, reason, now, allowed from-states (',a,b,'). Returns {previous state or '', 1 changed/same | 0 refused}.
 * Entering `running` with nothing in flight ends the campaign at once (`done`).
 */
export const CAMPAIGN_STATE_LUA = `${PRELUDE}
local meta = base .. ':meta'
local to, now = ARGV[1], ARGV[3]
local cur = redis.call('HGET', meta, 'state')
if not cur then return {'', 0} end
if cur == to then
  -- starting a running campaign again settles it if nothing is in flight (e.g. an import that died half-way)
  if to == 'running' then check_done(now) end
  return {cur, 1}
end
if not in_list(ARGV[4], cur) then return {cur, 0} end
redis.call('HSET', meta, 'state', to, 'stateReason', ARGV[2], 'updatedAt', now)
if to == 'running' then
  if redis.call('HEXISTS', meta, 'startedAt') == 0 then redis.call('HSET', meta, 'startedAt', now) end
  redis.call('HDEL', meta, 'finishedAt')
  check_done(now)
elseif to == 'done' or to == 'cancelled' then
  redis.call('HSET', meta, 'finishedAt', now)
end
return {cur, 1}
`;

/**
 * Keyset page of a state index ordered by (updatedAt, userKey). ARGV: score, member of the last entry seen ('' for
 * the first page), count. A probe `member\0` is inserted and removed in the same step to find the exact rank where
 * the page resumes, in O(log n), even if the last member moved away or many users share the same score.
 */
export const PAGE_BY_SCORE_LUA = `
local key, count = KEYS[1], tonumber(ARGV[3])
local start = 0
if ARGV[2] ~= '' then
  local probe = ARGV[2] .. '\\0'
  redis.call('ZADD', key, ARGV[1], probe)
  start = redis.call('ZRANK', key, probe)
  redis.call('ZREM', key, probe)
end
return redis.call('ZRANGE', key, start, start + count - 1, 'WITHSCORES')
`;
