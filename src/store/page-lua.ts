import { KEY_SUFFIX } from './keys.js';

/**
 * The Lua scripts of the users table (they change nothing: a probe is added and removed in the same step): keyset
 * pages over the indexes, walked inside Redis so that entries
 * that cannot match never cross the network. Each reads a bounded number of index entries per call (a budget the
 * caller passes), so Redis is never held for more than a few milliseconds, and hands back where to resume.
 */

/**
 * Where a keyset page of a state index ordered by (updatedAt, userKey) resumes after (score, member), ascending or
 * descending. A probe `member\0` is inserted and removed in the same step to find the exact rank in O(log n), even
 * if the last member moved away or many users share the same score: it sorts just after the member, so its rank
 * once removed is where an ascending page resumes; descending, the member itself comes next and is skipped if still
 * at that score.
 */
const RESUME_RANK_LUA = `
local function resume_rank(key, score, member, reverse)
  if member == '' then return 0 end
  local probe = member .. '\\0'
  local start
  redis.call('ZADD', key, score, probe)
  if reverse then
    start = redis.call('ZREVRANK', key, probe)
    if tonumber(redis.call('ZSCORE', key, member) or 'nan') == tonumber(score) then start = start + 1 end
  else
    start = redis.call('ZRANK', key, probe)
  end
  redis.call('ZREM', key, probe)
  return start
end
`;

/**
 * The needle test of a search (needs `base` and `needle` in scope). The needle is lowercase (NFC) like the name
 * index. The name index's name part is compared as is (the same bytes as the caller's substring test); the
 * username of other indexes' users (hash field `un`), the host (hash field `h`) and the e-mail (in the spec JSON)
 * are lowered here, ASCII only, so a field with any other byte is kept as a candidate: the caller checks every
 * record it fetches again, and this only ever drops users that cannot match.
 */
const SEARCH_FUNCTIONS_LUA = `
local function may_contain(text)
  if not text then return false end
  if string.find(text, '[\\128-\\255]') then return true end
  return string.find(string.lower(text), needle, 1, true) ~= nil
end
local function searched(name, uk)
  local user = base .. '${KEY_SUFFIX.user}' .. uk
  if name then
    if string.find(name, needle, 1, true) then return true end
  elseif may_contain(redis.call('HGET', user, 'un')) then
    return true
  end
  if may_contain(redis.call('HGET', user, 'h')) then return true end
  local spec = redis.call('GET', base .. '${KEY_SUFFIX.spec}' .. uk)
  if not spec then return false end
  -- The address as JSON.stringify wrote it; with an escape in it (or none found), decode to be sure.
  local email = string.match(spec, '"email":"([^"\\\\]*)"')
  if email then return may_contain(email) end
  if not string.find(spec, '"email":', 1, true) then return false end
  local ok, decoded = pcall(cjson.decode, spec)
  if not ok then return true end
  return type(decoded.email) == 'string' and may_contain(decoded.email)
end
`;

/** Keyset page of a state index. KEYS[1]: the index. ARGV: score, member of the last entry seen ('' for the first
 * page), count, '1' for descending. */
export const PAGE_BY_SCORE_LUA = `
${RESUME_RANK_LUA}
local key, count, reverse = KEYS[1], tonumber(ARGV[3]), ARGV[4] == '1'
local start = resume_rank(key, ARGV[1], ARGV[2], reverse)
if reverse then return redis.call('ZREVRANGE', key, start, start + count - 1, 'WITHSCORES') end
return redis.call('ZRANGE', key, start, start + count - 1, 'WITHSCORES')
`;

/**
 * A search over a state index, in its order (either way): KEYS[1]: the campaign base. ARGV: the state index's
 * suffix, score and member of the last entry seen ('' for the first page), matches wanted, entries to read at
 * most, '1' for descending, the needle. Returns {matches as member, score pairs, last member read, its score,
 * 1 when the index is exhausted else 0, entries read}.
 */
export const PAGE_BY_SCORE_SEARCH_LUA = `
${RESUME_RANK_LUA}
local base = KEYS[1]
local key = base .. ARGV[1]
local wanted, budget, reverse, needle = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6] == '1', ARGV[7]
${SEARCH_FUNCTIONS_LUA}
local start = resume_rank(key, ARGV[2], ARGV[3], reverse)
local out, last, last_score, read = {}, '', '', 0
while read < budget do
  local ask = math.min(500, budget - read)
  local chunk
  if reverse then
    chunk = redis.call('ZREVRANGE', key, start, start + ask - 1, 'WITHSCORES')
  else
    chunk = redis.call('ZRANGE', key, start, start + ask - 1, 'WITHSCORES')
  end
  for i = 1, #chunk, 2 do
    read = read + 1
    last, last_score = chunk[i], chunk[i + 1]
    if searched(nil, last) then
      out[#out + 1] = last
      out[#out + 1] = last_score
      if #out / 2 >= wanted then return {out, last, last_score, 0, read} end
    end
  end
  if #chunk / 2 < ask then return {out, last, last_score, 1, read} end
  start = start + #chunk / 2
end
return {out, last, last_score, 0, read}
`;

/**
 * A page of a lexicographic index (code, site or name index), ascending or descending, keeping only members
 * present in every other index the filter names and, with a needle, only users whose name, host or e-mail may
 * contain it. KEYS[1]: the campaign base. ARGV: driver suffix, from (the lower bound ascending, the upper one
 * descending), to, matches wanted, entries to read at most, '1' when the driver is the name index
 * (`name\0userKey` members), '1' for descending, the needle ('' for none), then the other indexes' suffixes.
 * Returns {matches, last member read, 1 when the index is exhausted else 0, entries read}.
 */
export const PAGE_BY_LEX_FILTERED_LUA = `
local base = KEYS[1]
local driver, from, to = base .. ARGV[1], ARGV[2], ARGV[3]
local wanted, budget, named, reverse = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6] == '1', ARGV[7] == '1'
local needle = ARGV[8]
local others = {}
for i = 9, #ARGV do others[#others + 1] = base .. ARGV[i] end
${SEARCH_FUNCTIONS_LUA}
local out, last, read = {}, '', 0
while read < budget do
  local ask = math.min(500, budget - read)
  local chunk
  if reverse then
    chunk = redis.call('ZREVRANGEBYLEX', driver, from, to, 'LIMIT', 0, ask)
  else
    chunk = redis.call('ZRANGEBYLEX', driver, from, to, 'LIMIT', 0, ask)
  end
  for _, m in ipairs(chunk) do
    read = read + 1
    last = m
    local uk, name = m, nil
    if named then
      local nul = string.find(m, '\\0', 1, true) or 0
      uk, name = string.sub(m, nul + 1), string.sub(m, 1, nul - 1)
    end
    local ok = true
    for _, key in ipairs(others) do
      if not redis.call('ZSCORE', key, uk) then
        ok = false
        break
      end
    end
    if ok and needle ~= '' then ok = searched(name, uk) end
    if ok then
      out[#out + 1] = m
      if #out >= wanted then return {out, last, 0, read} end
    end
  end
  if #chunk < ask then return {out, last, 1, read} end
  from = '(' .. last
end
return {out, last, 0, read}
`;
