/**
 * Lua behind the shared deploy slots and connection rates (src/store/deploy-slots.ts). Every script reads the clock
 * of the Redis server (TIME), never the agent's: agents on different machines disagree by seconds, Redis is one
 * clock. Redis 7 replicates a script's effects, so TIME before a write is allowed and replicas see the same scores.
 */

/** Milliseconds since the epoch on the Redis server. */
const NOW_MS = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * Acquire one lease in every scope, all or none. KEYS[1] = the set of sites ever counted (for the status), KEYS[2..]
 * = one ZSET per scope (member = lease id, score = expiry ms). ARGV: lease id, lease ms, site (or ''), then one cap
 * per scope. Expired leases are purged first (a dead agent's slot comes back here). A lease id already present is a
 * retried call (a reply lost to a reconnect), never a second slot. No key TTL: Redis deletes a ZSET when its last
 * lease is released, and the next acquire in a scope purges what dead agents left. Answers {0} or {index of the full
 * scope, its count}.
 */
export const SLOT_ACQUIRE_LUA = `${NOW_MS}
local id, ttl, site = ARGV[1], tonumber(ARGV[2]), ARGV[3]
for i = 2, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  local n = redis.call('ZCARD', KEYS[i])
  -- Only a full scope asks whether this is a retried call of a lease it already holds (the common case skips it).
  if n >= tonumber(ARGV[2 + i]) and not redis.call('ZSCORE', KEYS[i], id) then return {i - 1, n} end
end
for i = 2, #KEYS do redis.call('ZADD', KEYS[i], now + ttl, id) end
if site ~= '' then redis.call('SADD', KEYS[1], site) end
return {0}`;

/**
 * Push a lease's expiry out in every scope. A lease that lapsed (the agent stalled past the lease) is added back:
 * the deploy is on the workstation, counting it is the truth even if it briefly exceeds a cap. Same keys and ARGV
 * as acquire, without caps.
 */
export const SLOT_RENEW_LUA = `${NOW_MS}
local id, ttl = ARGV[1], tonumber(ARGV[2])
local lapsed = 0
for i = 2, #KEYS do
  if redis.call('ZADD', KEYS[i], now + ttl, id) == 1 then lapsed = 1 end
end
return lapsed`;

/**
 * Drop leases from their scopes, several leases a call (releases of one moment are batched: one round trip).
 * ARGV: for each lease, how many of KEYS are its scope ZSETs, then its id; KEYS: those ZSETs, lease after lease.
 */
export const SLOT_RELEASE_LUA = `local k = 1
for i = 1, #ARGV, 2 do
  local n, id = tonumber(ARGV[i]), ARGV[i + 1]
  for j = k, k + n - 1 do redis.call('ZREM', KEYS[j], id) end
  k = k + n
end
return 0`;

/** Live leases per scope key (KEYS). */
export const SLOT_COUNT_LUA = `${NOW_MS}
local out = {}
for i = 1, #KEYS do out[i] = redis.call('ZCOUNT', KEYS[i], '(' .. now, '+inf') end
return out`;

/**
 * Take one token from every bucket, all or none (new SSH connections per second). KEYS = one hash per bucket
 * {tokens, at}; ARGV = its rate per second, one per key. A bucket holds at most max(1, rate) tokens (a burst of one
 * second) and starts full. Answers 0 when taken, else the milliseconds until every bucket has a token.
 */
export const RATE_TAKE_LUA = `${NOW_MS}
local wait = 0
local level = {}
for i = 1, #KEYS do
  local rate = tonumber(ARGV[i])
  local size = math.max(1, rate)
  local state = redis.call('HMGET', KEYS[i], 'tokens', 'at')
  local tokens = tonumber(state[1]) or size
  local at = tonumber(state[2]) or now
  if now > at then tokens = math.min(size, tokens + (now - at) * rate / 1000) end
  level[i] = tokens
  if tokens < 1 then wait = math.max(wait, math.ceil((1 - tokens) * 1000 / rate)) end
end
if wait > 0 then return wait end
for i = 1, #KEYS do
  local rate = tonumber(ARGV[i])
  redis.call('HSET', KEYS[i], 'tokens', tostring(level[i] - 1), 'at', now)
  redis.call('PEXPIRE', KEYS[i], math.ceil(math.max(1, rate) * 1000 / rate) + 1000)
end
return 0`;
