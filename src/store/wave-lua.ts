/**
 * The waves' part of the Lua enforcer (included in every state script, after `lookup`, `emit` and `CT`): per-wave
 * counters moved in the same atomic step as the user, and the halt and promotion rules of src/rollout/wave-health.ts
 * judged right there, so two agents recording failures at once can never both miss (or double) a halt.
 *
 *   <base>:wv            hash  `<wave>:<state>` → users of the wave in that state
 *   <base>:wf:<wave>     zset  users of the wave that are failed or retrying (who made a wave halt)
 *   <base>:ww:<wave>     zset  users of the wave waiting to deploy (queued, generated, retrying): whom to wake
 *   <base>:dur           list  durations (ms) of the last successful applies, newest first (the deploy estimate)
 *   meta wRule           `maxFailPercent|countRetrying(0/1)|autoPromotePercent|soakMs` (-1 = unset); '' = no waves
 *   meta wSizes          users per wave as the import planned them (the denominator while it still writes)
 *   meta wCount          waves of the campaign; wOpen the wave users may start in (from wAt on); wAck the last
 *                        wave a resume accepted (it never halts again); haltWave / haltUsers while halted
 */

/** States that keep a user in its wave's denominator (countWave): everything but skipped, cancelled, removed. */
export const WAVE_DENOMINATOR_STATES = [
  'applied',
  'failed',
  'retrying',
  'queued',
  'generated',
  'deploying',
  'rollback-queued',
  'rolling-back',
  'rolled-back',
  'rollback-failed',
] as const;

/** Successful apply durations kept for the p90 estimate. */
export const DURATIONS_KEPT = 100;
/** Usernames kept in the campaign record when a wave halts it (the full list is the wave's failing set). */
export const HALT_USERS_KEPT = 20;

export const WAVE_LUA = `
local WSTATES = {${WAVE_DENOMINATOR_STATES.map((s) => `'${s}'`).join(',')}}
local function failing(s) return s == 'failed' or s == 'retrying' end
local function waiting(s) return s == 'queued' or s == 'generated' or s == 'retrying' end
-- moves a user of wave w from state old to new (either may be nil: joins or leaves the wave)
local function wave_move(uk, w, old, new)
  if not w or w == false or w == '' or old == new then return end
  local key = base .. ':wv'
  if old then redis.call('HINCRBY', key, w .. ':' .. old, -1) end
  if new then redis.call('HINCRBY', key, w .. ':' .. new, 1) end
  local was, is = old and failing(old), new and failing(new)
  if is and not was then redis.call('ZADD', base .. ':wf:' .. w, 0, uk)
  elseif was and not is then redis.call('ZREM', base .. ':wf:' .. w, uk) end
  was, is = old and waiting(old), new and waiting(new)
  if is and not was then redis.call('ZADD', base .. ':ww:' .. w, 0, uk)
  elseif was and not is then redis.call('ZREM', base .. ':ww:' .. w, uk) end
end
local function pct(x) return tostring(math.floor(x * 10 + 0.5) / 10) end
-- halt (failure rate strictly above max_fail_percent) or promote the next wave (wave-health.ts judgeWave)
local function wave_judge(w, nowstr)
  if not w or w == false or w == '' then return end
  local meta = base .. ':meta'
  local m = redis.call('HMGET', meta, 'wRule', 'wCount', 'wOpen', 'wAck', 'state', 'importState')
  if not m[1] or m[1] == '' then return end
  local maxp, retr, auto, soak = string.match(m[1], '^([^|]*)|([^|]*)|([^|]*)|([^|]*)$')
  maxp, auto, soak = tonumber(maxp) or -1, tonumber(auto) or -1, tonumber(soak) or 0
  local wn, count, open, ack = tonumber(w), tonumber(m[2]) or 1, tonumber(m[3]) or 1, tonumber(m[4]) or 0
  local fields = {}
  for i, s in ipairs(WSTATES) do fields[i] = w .. ':' .. s end
  local c = redis.call('HMGET', base .. ':wv', unpack(fields))
  local n, size = {}, 0
  for i, s in ipairs(WSTATES) do
    n[s] = tonumber(c[i]) or 0
    size = size + n[s]
  end
  if m[6] == 'writing' then
    -- users of the wave not written yet count in its size: the rate is of the wave the import planned
    local i = 0
    for planned in string.gmatch(redis.call('HGET', meta, 'wSizes') or '', '%d+') do
      i = i + 1
      if i == wn then size = math.max(size, tonumber(planned)) end
    end
  end
  local failures = n['failed'] + ((retr == '1') and n['retrying'] or 0)
  if maxp >= 0 and wn > ack and size > 0 and failures * 100 > maxp * size then
    local to = lookup(CT, 'halt', m[5])
    if to and to ~= m[5] then
      local still = ''
      if retr == '1' and n['retrying'] > 0 then still = ', ' .. n['retrying'] .. ' still retrying' end
      local reason = 'wave ' .. w .. ': ' .. failures .. ' of ' .. size .. ' users failed (' ..
        pct(failures * 100 / size) .. '%' .. still .. '), above max_fail_percent ' .. pct(maxp) .. '%'
      local names = {}
      for _, fk in ipairs(redis.call('ZRANGE', base .. ':wf:' .. w, 0, ${HALT_USERS_KEPT - 1})) do
        names[#names + 1] = redis.call('HGET', base .. ':u:' .. fk, 'un') or fk
      end
      redis.call('HSET', meta, 'state', to, 'stateReason', reason, 'updatedAt', nowstr, 'haltWave', w,
        'haltUsers', table.concat(names, ','))
      emit('k', 'c', 'from', m[5], 'to', to, 'i', 'halt', 'reason', reason, 'at', nowstr)
    end
    return
  end
  -- while an import writes users, a wave whose users so far were all attempted may still get more
  if wn ~= open or open >= count or m[5] == 'halted' or m[6] == 'writing' then return end
  local promote
  if auto > 0 then promote = n['applied'] * 100 >= auto * size
  else promote = n['queued'] + n['generated'] + n['deploying'] == 0 end
  if promote then
    local opens = string.format('%.0f', tonumber(nowstr) + soak)
    redis.call('HSET', meta, 'wOpen', open + 1, 'wAt', opens)
    -- on the stream too, so live views (status --watch, the dashboard) redraw when the next wave opens
    emit('k', 'w', 'wave', open + 1, 'opens', opens, 'at', nowstr)
  end
end
-- a successful apply's duration, for the agents' p90 estimate of a deploy
local function keep_duration(attempt)
  local ms = string.match(attempt, '"durationMs":(%d+)')
  if ms then
    redis.call('LPUSH', base .. ':dur', ms)
    redis.call('LTRIM', base .. ':dur', 0, ${DURATIONS_KEPT - 1})
  end
end
`;
