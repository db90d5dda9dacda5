/**
 * Paging scripts over a campaign's indexes (read-only walks, or a probe added and removed in the same step): the
 * users table of the CLI and the dashboard pages through these, never through BullMQ getters.
 */

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

/**
 * A page of a lexicographic index (code, site or name index) keeping only members present in every other index
 * the filter names, walked inside Redis so that members that cannot match never cross the network. KEYS[1]: the
 * campaign base. ARGV: driver suffix, min, max, matches wanted, entries to read at most, '1' when the driver is the
 * name index (`name\0userKey` members), then the other indexes' suffixes. Returns {matches, last member read, 1 when
 * the index is exhausted else 0, entries read}.
 */
export const PAGE_BY_LEX_FILTERED_LUA = `
local base = KEYS[1]
local driver, from, max = base .. ARGV[1], ARGV[2], ARGV[3]
local wanted, budget, named = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6] == '1'
local others = {}
for i = 7, #ARGV do others[#others + 1] = base .. ARGV[i] end
local out, last, read = {}, '', 0
while read < budget do
  local ask = math.min(500, budget - read)
  local chunk = redis.call('ZRANGEBYLEX', driver, from, max, 'LIMIT', 0, ask)
  for _, m in ipairs(chunk) do
    read = read + 1
    last = m
    local uk = m
    if named then uk = string.sub(m, (string.find(m, '\\0', 1, true) or 0) + 1) end
    local ok = true
    for _, key in ipairs(others) do
      if not redis.call('ZSCORE', key, uk) then
        ok = false
        break
      end
    end
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
