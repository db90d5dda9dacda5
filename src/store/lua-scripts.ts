import {
  CAMPAIGN_TRANSITIONS,
  type CampaignIntent,
  USER_TRANSITIONS,
  type UserFrom,
  type UserIntent,
} from '../rollout/lifecycle.js';
import { FINAL_USER_STATES, IN_FLIGHT_USER_STATES } from '../rollout/states.js';
import { WAVE_LUA } from './wave-lua.js';

/**
 * The Lua scripts that change state. The transition tables of src/rollout/lifecycle.ts are compiled into Lua
 * tables here (UT, CT), so the script that enforces them cannot drift from them. Each script moves the record, its
 * index memberships, the per-state counters and the campaign's event stream in one atomic step. KEYS[1] is always
 * the campaign base key; other keys are derived with the suffixes of keys.ts (all share the campaign's hash tag).
 * User hash fields: see user-codec.ts (s state, r run, sg stage, ec error code, cc its cause, si site, …).
 */

/**
 * The user table as one Lua string constant: `|intent/state=to|…`, `+to` for a new run, state `-` = no record yet.
 * A string constant costs nothing per call, where a Lua table literal would be rebuilt on every script run (a
 * transition runs a thousand times a second); `decide` finds a cell with one plain string.find.
 */
export function compileUserTable(): string {
  const cells = Object.entries(USER_TRANSITIONS).flatMap(([intent, moves]) =>
    Object.entries(moves).map(([from, move]) => {
      const key = (from as UserFrom) === 'absent' ? '-' : from;
      return `${intent}/${key}=${move.newRun ? '+' : ''}${move.to}`;
    }),
  );
  return `'|${cells.join('|')}|'`;
}

/** The campaign table the same way: `|intent/state=to|…`. */
export function compileCampaignTable(): string {
  const cells = Object.entries(CAMPAIGN_TRANSITIONS).flatMap(([intent, moves]) =>
    Object.entries(moves).map(([from, to]) => `${intent}/${from}=${to}`),
  );
  return `'|${cells.join('|')}|'`;
}

/** Events kept per campaign stream (approximate trim: O(1) amortised). */
export const EVENTS_KEPT = 10_000;

const PRELUDE = `
local UT = ${compileUserTable()}
local CT = ${compileCampaignTable()}
local FINAL = ',${FINAL_USER_STATES.join(',')},'
local INFLIGHT = {${IN_FLIGHT_USER_STATES.map((s) => `'${s}'`).join(',')}}
local base = KEYS[1]
local function in_list(csv, v) return v ~= nil and v ~= false and string.find(csv, ',' .. v .. ',', 1, true) ~= nil end
local function minute(now) return string.format('%.0f', now - now % 60000) end
local function emit(...)
  redis.call('XADD', base .. ':ev', 'MAXLEN', '~', ${EVENTS_KEPT}, '*', ...)
end
-- moves a user between state indexes and counters; counts a completion when it newly reaches a final state
-- (except skipped: an invalid row is not work done, and would skew the pace)
local function set_state(uk, old, new, now)
  if old then
    redis.call('ZREM', base .. ':st:' .. old, uk)
    redis.call('HINCRBY', base .. ':count', old, -1)
  end
  if new then
    redis.call('ZADD', base .. ':st:' .. new, now, uk)
    redis.call('HINCRBY', base .. ':count', new, 1)
    if new ~= 'skipped' and in_list(FINAL, new) and not in_list(FINAL, old) then
      redis.call('HINCRBY', base .. ':tput', minute(now), 1)
    end
  end
end
local function move_member(kind, old, new, uk)
  if old == false or old == '' then old = nil end
  if new == false or new == '' then new = nil end
  if old == new then return end
  if old then redis.call('ZREM', base .. kind .. old, uk) end
  if new then redis.call('ZADD', base .. kind .. new, 0, uk) end
end
-- the error-code index holds both the stored code and its cause (FR_ERR_ATTEMPTS_EXHAUSTED wraps the last one)
local function index_codes(uk, old_ec, old_cc, new_ec, new_cc)
  move_member(':code:', old_ec, new_ec, uk)
  if old_cc ~= old_ec or new_cc ~= new_ec then
    if old_cc and old_cc ~= false and old_cc ~= new_ec then move_member(':code:', old_cc, nil, uk) end
    if new_cc and new_cc ~= false and new_cc ~= '' and new_cc ~= new_ec then move_member(':code:', nil, new_cc, uk) end
  end
end
-- table lookup: the cell after '|intent/state=' up to the next '|', or nil when the pair is refused
local function lookup(tbl, intent, state)
  local key = '|' .. intent .. '/' .. (state or '-') .. '='
  local at = string.find(tbl, key, 1, true)
  if not at then return nil end
  local from = at + #key
  return string.sub(tbl, from, string.find(tbl, '|', from, true) - 1)
end
-- UT lookup: the target state and whether it opens a new run, or nil when the pair is refused
local function decide(intent, state)
  local cell = lookup(UT, intent, state)
  if not cell then return nil end
  if string.sub(cell, 1, 1) == '+' then return string.sub(cell, 2), true end
  return cell, false
end
-- a running campaign with nothing left in flight is done (not while an import is still writing its users)
local function check_done(now)
  local meta = base .. ':meta'
  local m = redis.call('HMGET', meta, 'state', 'importState')
  if m[1] ~= 'running' or m[2] == 'writing' then return end
  local counts = redis.call('HMGET', base .. ':count', unpack(INFLIGHT))
  for _, c in ipairs(counts) do
    if c and tonumber(c) > 0 then return end
  end
  redis.call('HSET', meta, 'state', 'done', 'stateReason', 'every user reached a final state',
    'finishedAt', now, 'updatedAt', now)
  emit('k', 'c', 'from', 'running', 'to', 'done', 'i', 'finish', 'at', now)
end
-- fields a new run starts without
local RUN_FIELDS = {'fa', 'na', 'e', 'ec', 'cc', 'fi', 'pr'}
${WAVE_LUA}`;

/**
 * One user's move by intent: userKey, run ('' = whatever the current run is: admin intents), intent, now, patch
 * JSON {set:{field:value}, del:[field]}, attempt JSON ('' for none), the history bound. Returns {result, state, run}:
 * 1 moved, 2 already there (idempotent replay), 0 refused by the table, -1 stale run (the attempt is still kept in
 * the history, marked stale: no outcome a workstation reports is discarded), -2 no such user.
 */
const TRANSITION_FN = `
local function keep_attempt(uk, attempt, kept)
  if attempt and attempt ~= '' then
    local akey = base .. ':a:' .. uk
    redis.call('LPUSH', akey, attempt)
    redis.call('LTRIM', akey, 0, tonumber(kept) - 1)
  end
end
-- an attempt's outcome, step, duration and codes ride on its event: the dashboard's metrics follow the stream
local function attempt_fields(ev, a)
  ev[#ev + 1] = 'o'
  ev[#ev + 1] = tostring(a.outcome)
  ev[#ev + 1] = 'sg'
  ev[#ev + 1] = tostring(a.stage)
  ev[#ev + 1] = 'd'
  ev[#ev + 1] = tostring(a.durationMs or 0)
  if type(a.code) == 'string' then
    ev[#ev + 1] = 'ec'
    ev[#ev + 1] = a.code
  end
  if type(a.cause) == 'string' then
    ev[#ev + 1] = 'cc'
    ev[#ev + 1] = a.cause
  end
  return ev
end
local function transition_one(uk, run, intent, nowstr, patchjson, attempt, kept)
  local now = tonumber(nowstr)
  local ukey = base .. ':u:' .. uk
  local cur = redis.call('HMGET', ukey, 's', 'r', 'ec', 'cc', 'bk', 'at', 'sg', 'wv')
  if not cur[1] then return {-2, '', 0} end
  local old, oldrun = cur[1], tonumber(cur[2])
  if run ~= '' and tonumber(run) ~= oldrun then
    if attempt and attempt ~= '' then
      -- a stale run's real outcome: history keeps it (with its run), and a backup it made stays known
      local a = cjson.decode(attempt)
      a.stale = true
      keep_attempt(uk, cjson.encode(a), kept)
      local patch = cjson.decode(patchjson)
      if patch.set.bk and not cur[5] then redis.call('HSET', ukey, 'bk', patch.set.bk) end
      -- that step has left the workstation: the newer run may start there now
      local oh = redis.call('HGET', ukey, 'oh')
      if oh and string.sub(oh, 1, #tostring(a.run) + 1) == tostring(a.run) .. ':' then redis.call('HDEL', ukey, 'oh') end
      emit(unpack(attempt_fields({'k', 'u', 'uk', uk, 'from', old, 'to', old, 'i', intent, 'r', tostring(a.run or run),
        'stale', '1', 'at', nowstr}, a)))
    end
    return {-1, old, oldrun}
  end
  local to, newrun = decide(intent, old)
  -- removal deletes the record: only REMOVE_LUA does that
  if not to or to == 'removed' then return {0, old, oldrun} end
  if to == old and not newrun and in_list(FINAL, to) then return {2, old, oldrun} end
  local patch = cjson.decode(patchjson)
  local r = oldrun
  if newrun then
    r = oldrun + 1
    redis.call('HDEL', ukey, unpack(RUN_FIELDS))
    redis.call('HSET', ukey, 'r', r, 'at', 0)
  end
  local fields = {'s', to, 'ua', nowstr}
  for k, v in pairs(patch.set) do
    fields[#fields + 1] = k
    fields[#fields + 1] = v
  end
  local del = patch.del
  if in_list(FINAL, to) then
    fields[#fields + 1] = 'fi'
    fields[#fields + 1] = nowstr
  else
    del[#del + 1] = 'fi'
  end
  redis.call('HSET', ukey, unpack(fields))
  if #del > 0 then redis.call('HDEL', ukey, unpack(del)) end
  -- the codes after the move, from the patch (a new run cleared them): no read back
  local ec, cc = cur[3], cur[4]
  if newrun then ec, cc = nil, nil end
  for _, f in ipairs(del) do
    if f == 'ec' then ec = nil elseif f == 'cc' then cc = nil end
  end
  if patch.set.ec then ec = patch.set.ec end
  if patch.set.cc then cc = patch.set.cc end
  index_codes(uk, cur[3], cur[4], ec, cc)
  -- the stage index follows the patch (a new run keeps the stage): at most one ZREM/ZADD pair
  local sg = cur[7]
  for _, f in ipairs(del) do
    if f == 'sg' then sg = nil end
  end
  if patch.set.sg then sg = patch.set.sg end
  move_member(':stage:', cur[7], sg, uk)
  if to ~= old then
    set_state(uk, old, to, now)
    wave_move(uk, cur[8], old, to)
    wave_judge(cur[8], nowstr)
  else
    redis.call('ZADD', base .. ':st:' .. to, now, uk)
  end
  keep_attempt(uk, attempt, kept)
  if intent == 'deploy-succeeded' and attempt and attempt ~= '' then keep_duration(attempt) end
  -- the generate stage records a chunk at once: one 'g' event per chunk (TRANSITION_MANY_LUA), not one per user
  if intent ~= 'generate-done' then
    local ev = {'k', 'u', 'uk', uk, 'from', old, 'to', to, 'i', intent, 'r', tostring(r), 'at', nowstr}
    if attempt and attempt ~= '' then attempt_fields(ev, cjson.decode(attempt)) end
    emit(unpack(ev))
  end
  return {1, to, r}
end
`;

/** ARGV: see transition_one. Returns {result, state, run}. */
export const TRANSITION_LUA = `${PRELUDE}${TRANSITION_FN}
local out = transition_one(ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7])
-- only a move to a final state can leave nothing in flight
if out[1] == 1 and in_list(FINAL, out[2]) then check_done(ARGV[4]) end
return out
`;

/**
 * Many users' moves in one call (the generate stage records a chunk at once; admin bulk actions a page at once).
 * ARGV: now, then 7 per user as transition_one takes them. Each move is checked on its own; returns
 * {result, state, run} flattened, one triple per user.
 */
export const TRANSITION_MANY_LUA = `${PRELUDE}${TRANSITION_FN}
local out = {}
local settle = false
local generated = 0
for i = 2, #ARGV, 7 do
  local r = transition_one(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6])
  if r[1] == 1 and in_list(FINAL, r[2]) then settle = true end
  if r[1] == 1 and ARGV[i + 2] == 'generate-done' then generated = generated + 1 end
  out[#out + 1] = r[1]
  out[#out + 1] = r[2]
  out[#out + 1] = r[3]
end
if generated > 0 then emit('k', 'g', 'n', tostring(generated), 'at', ARGV[1]) end
if settle then check_done(ARGV[1]) end
return out
`;

/**
 * ARGV: now, import number, then 10 per row: userKey, username, name member, line, spec JSON, specHash, host, site,
 * displayName, wave ('' = none). Unchanged specHash → untouched but marked seen by this import (and moved to its
 * wave of this import). New or changed → intent `import` (queued, new run). Returns per row {kind, run}: kind 0
 * unchanged, 1 added, 2 changed.
 */
export const UPSERT_LUA = `${PRELUDE}
local now, imp = tonumber(ARGV[1]), ARGV[2]
local out = {}
for i = 3, #ARGV, 10 do
  local uk, sh, host, site, dn, wv = ARGV[i], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7], ARGV[i + 8], ARGV[i + 9]
  local ukey = base .. ':u:' .. uk
  local cur = redis.call('HMGET', ukey, 's', 'r', 'sh', 'si', 'ec', 'cc', 'sg', 'wv')
  redis.call('ZADD', base .. ':seen', imp, uk)
  if (cur[8] or '') ~= wv then
    -- the user's wave of this import: its counters follow it (whatever its state)
    if cur[1] then
      wave_move(uk, cur[8], cur[1], nil)
      wave_move(uk, wv, nil, cur[1])
    end
    if wv == '' then redis.call('HDEL', ukey, 'wv') else redis.call('HSET', ukey, 'wv', wv) end
  end
  if cur[1] and cur[3] == sh then
    out[#out + 1] = 0
    out[#out + 1] = tonumber(cur[2])
  else
    local to = decide('import', cur[1] or nil)
    local run = 1
    if cur[1] then run = tonumber(cur[2]) + 1 end
    -- a new user has nothing to clear (most rows of a first import)
    if cur[1] then redis.call('HDEL', ukey, 'ck', 'sg', unpack(RUN_FIELDS)) end
    redis.call('HSET', ukey, 'un', ARGV[i + 1], 'ln', ARGV[i + 3], 'sh', sh, 's', to, 'r', run, 'at', 0,
      'ua', ARGV[1], 'im', imp)
    redis.call('SET', base .. ':s:' .. uk, ARGV[i + 4])
    for _, f in ipairs({{'h', host}, {'si', site}, {'dn', dn}}) do
      if f[2] == '' then redis.call('HDEL', ukey, f[1]) else redis.call('HSET', ukey, f[1], f[2]) end
    end
    if not cur[1] then
      redis.call('HSET', ukey, 'ca', ARGV[1])
      redis.call('ZADD', base .. ':names', 0, ARGV[i + 2])
    end
    move_member(':site:', cur[4], site, uk)
    index_codes(uk, cur[5], cur[6], nil, nil)
    move_member(':stage:', cur[7], nil, uk)
    set_state(uk, cur[1] or nil, to, now)
    wave_move(uk, wv, cur[1] or nil, to)
    emit('k', 'u', 'uk', uk, 'from', cur[1] or '-', 'to', to, 'i', 'import', 'r', tostring(run), 'at', ARGV[1])
    out[#out + 1] = cur[1] and 2 or 1
    out[#out + 1] = run
  end
end
return out
`;

/**
 * ARGV: now, import number, then 6 per row: userKey, username, name member, line, error JSON, error code.
 * Intent `reject-row`: new users and users not yet resting in a final state become skipped (a new run makes their
 * jobs stale; a step already on the host still has its outcome recorded, as stale); final users keep their state.
 */
export const MARK_SKIPPED_LUA = `${PRELUDE}
local now, imp = tonumber(ARGV[1]), ARGV[2]
for i = 3, #ARGV, 6 do
  local uk, ec = ARGV[i], ARGV[i + 5]
  local ukey = base .. ':u:' .. uk
  local cur = redis.call('HMGET', ukey, 's', 'r', 'ec', 'cc', 'wv')
  redis.call('ZADD', base .. ':seen', imp, uk)
  local to, newrun = decide('reject-row', cur[1] or nil)
  if to then
    local run = 0
    if cur[1] then run = tonumber(cur[2]) + (newrun and 1 or 0) end
    redis.call('HDEL', ukey, unpack(RUN_FIELDS))
    redis.call('HSET', ukey, 'un', ARGV[i + 1], 'ln', ARGV[i + 3], 's', to, 'r', run, 'at', 0,
      'e', ARGV[i + 4], 'ec', ec, 'sh', '', 'ua', ARGV[1], 'fi', ARGV[1])
    if not cur[1] then
      redis.call('HSET', ukey, 'ca', ARGV[1])
      redis.call('ZADD', base .. ':names', 0, ARGV[i + 2])
    end
    index_codes(uk, cur[3], cur[4], ec, nil)
    if cur[1] ~= to then
      set_state(uk, cur[1] or nil, to, now)
      wave_move(uk, cur[5], cur[1] or nil, to)
      emit('k', 'u', 'uk', uk, 'from', cur[1] or '-', 'to', to, 'i', 'reject-row', 'r', tostring(run), 'at', ARGV[1])
    end
  end
end
return 1
`;

/**
 * Intent `remove` (a single user, or users no longer in the CSV with --prune). ARGV: now, then 2 per user: userKey,
 * name member. Returns one {result, state} per user: 1 removed, 0 refused (a step is on the host), -2 absent.
 */
export const REMOVE_LUA = `${PRELUDE}
local out = {}
for i = 2, #ARGV, 2 do
  local uk = ARGV[i]
  local ukey = base .. ':u:' .. uk
  local cur = redis.call('HMGET', ukey, 's', 'si', 'ec', 'cc', 'sg', 'wv')
  if not cur[1] then
    out[#out + 1] = -2
    out[#out + 1] = ''
  elseif decide('remove', cur[1]) ~= 'removed' then
    out[#out + 1] = 0
    out[#out + 1] = cur[1]
  else
    set_state(uk, cur[1], nil, tonumber(ARGV[1]))
    wave_move(uk, cur[6], cur[1], nil)
    move_member(':site:', cur[2], nil, uk)
    index_codes(uk, cur[3], cur[4], nil, nil)
    move_member(':stage:', cur[5], nil, uk)
    redis.call('ZREM', base .. ':names', ARGV[i + 1])
    redis.call('ZREM', base .. ':seen', uk)
    redis.call('DEL', ukey, base .. ':s:' .. uk, base .. ':a:' .. uk)
    emit('k', 'u', 'uk', uk, 'from', cur[1], 'to', 'removed', 'i', 'remove', 'at', ARGV[1])
    out[#out + 1] = 1
    out[#out + 1] = cur[1]
  end
end
check_done(ARGV[1])
return out
`;

/**
 * Import bookkeeping on the campaign record. ARGV: phase ('begin' | 'progress' | 'end' | 'fail'), now, then:
 * begin → token, lease ms, rows to write; progress → token, lease ms, rows written; end → token; fail → reason.
 * While `importState` is `writing` the campaign cannot turn done: a crashed or failed import is visible as
 * incomplete ("29,000 of 100,000 rows written") until the same import runs again to the end.
 */
export const IMPORT_STATE_LUA = `${PRELUDE}
local meta = base .. ':meta'
local phase, now = ARGV[1], ARGV[2]
if phase == 'begin' then
  redis.call('SET', base .. ':imp', ARGV[3], 'PX', ARGV[4])
  redis.call('HSET', meta, 'importState', 'writing', 'importTotal', ARGV[5], 'importWritten', 0, 'updatedAt', now)
  redis.call('HDEL', meta, 'importError')
elseif phase == 'progress' then
  redis.call('SET', base .. ':imp', ARGV[3], 'PX', ARGV[4])
  redis.call('HSET', meta, 'importWritten', ARGV[5])
elseif phase == 'end' then
  if redis.call('GET', base .. ':imp') == ARGV[3] then redis.call('DEL', base .. ':imp') end
  redis.call('HSET', meta, 'importState', 'complete', 'updatedAt', now)
  redis.call('HDEL', meta, 'importError')
  -- the open wave may have been fully attempted while the import still wrote (a wave is promoted only after)
  wave_judge(redis.call('HGET', meta, 'wOpen') or '1', now)
  check_done(now)
elseif phase == 'fail' then
  redis.call('DEL', base .. ':imp')
  redis.call('HSET', meta, 'importError', ARGV[3])
end
return 1
`;

/**
 * A campaign's move by intent. ARGV: intent, reason, now. Returns {previous state or '', new state or '', 1 moved |
 * 2 same state | 0 refused}. Entering `running` with nothing in flight ends the campaign at once (`done`).
 */
export const CAMPAIGN_STATE_LUA = `${PRELUDE}
local meta = base .. ':meta'
local intent, reason, now = ARGV[1], ARGV[2], ARGV[3]
local cur = redis.call('HGET', meta, 'state')
if not cur then return {'', '', 0} end
local to = lookup(CT, intent, cur)
if not to then return {cur, '', 0} end
if to == cur then
  if to == 'running' then check_done(now) end
  return {cur, redis.call('HGET', meta, 'state'), 2}
end
redis.call('HSET', meta, 'state', to, 'stateReason', reason, 'updatedAt', now)
if cur == 'halted' and to == 'running' then
  -- an admin's resume (or start) accepts the wave that halted: it never halts again, and may now be promoted
  local hw = redis.call('HGET', meta, 'haltWave')
  if hw and (intent == 'resume' or intent == 'start') then redis.call('HSET', meta, 'wAck', hw) end
  redis.call('HDEL', meta, 'haltWave', 'haltUsers')
  wave_judge(redis.call('HGET', meta, 'wOpen') or '1', now)
end
if to == 'running' then
  if redis.call('HEXISTS', meta, 'startedAt') == 0 then redis.call('HSET', meta, 'startedAt', now) end
  redis.call('HDEL', meta, 'finishedAt')
elseif to == 'done' or to == 'cancelled' then
  redis.call('HSET', meta, 'finishedAt', now)
end
emit('k', 'c', 'from', cur, 'to', to, 'i', intent, 'reason', reason, 'at', now)
if to == 'running' then check_done(now) end
return {cur, redis.call('HGET', meta, 'state'), 1}
`;

export type { CampaignIntent, UserIntent };
