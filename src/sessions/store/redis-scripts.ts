/**
 * Lua scripts of the Redis store: each store call is one script, so one round trip, and atomic, so
 * gateways writing the same session at once add their counters instead of overwriting each other.
 *
 * Keys (P = the key prefix inside a hash tag, e.g. `{cylestio:}`, so every key of a deployment sits in
 * one Cluster slot and multi-key scripts work on Cluster too):
 *   P session:<key>   hash: state (JSON), index (the index keys it is filed under, newline-separated),
 *                     last_seen (ms), requests, input_tokens, output_tokens
 *   P rix:<index key> sorted set: session key by last_seen (a lookup reads the most recent of each key)
 *   P idx:<index key> set of session keys: the index of earlier versions, read (a bounded sample) and
 *                     cleaned up until it expires, so sessions they saved are still found
 *   P recent          sorted set: session key by last_seen (TTL and max_sessions across the fleet)
 *   P secret          the fleet's hashing secret
 * Times come from the gateways (ARGV), as in every store, so expiry follows one clock per call; Redis
 * PEXPIREs (TTL plus a margin) only collect what no gateway touches any more.
 */

/** Shared helpers, prepended to the scripts that drop sessions. */
const dropSession = `
local function split(text)
  local out = {}
  if text then for item in string.gmatch(text, '[^\\n]+') do out[#out + 1] = item end end
  return out
end
local function drop(prefix, key)
  local sk = prefix .. 'session:' .. key
  for _, ik in ipairs(split(redis.call('HGET', sk, 'index'))) do
    redis.call('ZREM', prefix .. 'rix:' .. ik, key)
    redis.call('SREM', prefix .. 'idx:' .. ik, key)
  end
  redis.call('ZREM', prefix .. 'recent', key)
  return redis.call('DEL', sk)
end
-- Sessions idle past the TTL, then the least recently seen beyond max_sessions (bounded work per call).
local function bound(prefix, now, ttl, max)
  local recent = prefix .. 'recent'
  for _, key in ipairs(redis.call('ZRANGEBYSCORE', recent, '-inf', '(' .. (now - ttl), 'LIMIT', 0, 100)) do drop(prefix, key) end
  local extra = redis.call('ZCARD', recent) - max
  if extra > 0 then
    for _, key in ipairs(redis.call('ZRANGE', recent, 0, math.min(extra, 100) - 1)) do drop(prefix, key) end
  end
end
`;

/**
 * ARGV: prefix, now, ttl, limit, then index keys. Returns flat [state, last_seen, requests, in, out, cost]* of
 * at most `limit` live sessions. Reads at most `limit` sessions per key (per old unordered set, a random
 * sample; SRANDMEMBER on a key that no longer exists costs nothing), however many share it: a Lua script
 * blocks Redis for the whole fleet while it runs. The `limit` most recent of each ordered set hold the answer
 * reading them all would give: a session among the `limit` most recent of the union is among the `limit`
 * most recent of each of its keys (ties broken by session key, as ZREVRANGE breaks them).
 */
export const lookupScript = `
local prefix, now, ttl, limit = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local seen, live = {}, {}
local function consider(key)
  if seen[key] then return end
  seen[key] = true
  local h = redis.call('HMGET', prefix .. 'session:' .. key, 'state', 'last_seen', 'requests', 'input_tokens', 'output_tokens', 'cost_usd')
  if h[1] and now - tonumber(h[2]) < ttl then
    h[7] = key
    live[#live + 1] = h
  end
end
for i = 5, #ARGV do
  for _, key in ipairs(redis.call('ZREVRANGE', prefix .. 'rix:' .. ARGV[i], 0, limit - 1)) do consider(key) end
  for _, key in ipairs(redis.call('SRANDMEMBER', prefix .. 'idx:' .. ARGV[i], limit)) do consider(key) end
end
-- The most recently seen first, and no more than the limit (a reply many sessions share).
table.sort(live, function(a, b)
  local x, y = tonumber(a[2]), tonumber(b[2])
  if x ~= y then return x > y end
  return a[7] > b[7]
end)
local out = {}
for i = 1, math.min(#live, limit) do
  local h = live[i]
  out[#out + 1] = h[1]; out[#out + 1] = h[2]; out[#out + 1] = h[3]; out[#out + 1] = h[4]; out[#out + 1] = h[5]
  out[#out + 1] = h[6] or '0'
end
return out
`;

/**
 * ARGV: prefix, ttl, max, expire ms, then per write: now, session key, state JSON, index keys
 * (newline-separated), last_seen, +requests, +input tokens, +output tokens, +cost (USD). Returns the writes
 * applied. The writes a gateway made in one event-loop turn come in one call (redis-store.ts), applied in
 * order, each as if alone; TTL and max_sessions are enforced once at the end, at the latest write's clock.
 * The counters are read with the index and written back with the state in one HSET: inside a script the
 * sum is as atomic as HINCRBY, and each command a script runs costs Redis CPU on every reply of the fleet
 * (HINCRBYFLOAT alone cost as much as the whole index upkeep). Sums are doubles, like the JavaScript
 * that reads them; '%.17g' writes the exact double back.
 */
export const saveScript = `${dropSession}
local prefix, ttl, max, expire = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local latest = 0
local function save(b)
  local now, key, state, index, lastSeen = tonumber(ARGV[b]), ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4]
  if now > latest then latest = now end
  local sk = prefix .. 'session:' .. key
  local old = redis.call('HMGET', sk, 'index', 'last_seen', 'requests', 'input_tokens', 'output_tokens', 'cost_usd')
  if old[2] and now - tonumber(old[2]) >= ttl then
    drop(prefix, key) -- expired but not collected yet: this write starts it afresh
    old = {}
  end
  if old[2] and tonumber(old[2]) > tonumber(lastSeen) then lastSeen = old[2] end
  -- Filed under every key it has at its last_seen, so each key's set ranks its sessions by recency and a
  -- lookup reads only the most recent; every set's expiry is pushed back, so none goes before the session
  -- it points to. Keys the state dropped lose it (from the old unordered sets too, until those expire).
  local had = {}
  for _, ik in ipairs(split(old[1])) do had[ik] = true end
  for _, ik in ipairs(split(index)) do
    had[ik] = nil
    redis.call('ZADD', prefix .. 'rix:' .. ik, lastSeen, key)
    redis.call('PEXPIRE', prefix .. 'rix:' .. ik, expire)
  end
  for ik in pairs(had) do
    redis.call('ZREM', prefix .. 'rix:' .. ik, key)
    redis.call('SREM', prefix .. 'idx:' .. ik, key)
  end
  redis.call('HSET', sk, 'state', state, 'index', index, 'last_seen', lastSeen,
    'requests', string.format('%d', (tonumber(old[3]) or 0) + tonumber(ARGV[b + 5])),
    'input_tokens', string.format('%d', (tonumber(old[4]) or 0) + tonumber(ARGV[b + 6])),
    'output_tokens', string.format('%d', (tonumber(old[5]) or 0) + tonumber(ARGV[b + 7])),
    'cost_usd', string.format('%.17g', (tonumber(old[6]) or 0) + tonumber(ARGV[b + 8])))
  redis.call('PEXPIRE', sk, expire)
  redis.call('ZADD', prefix .. 'recent', lastSeen, key)
end
local count = 0
for b = 5, #ARGV, 9 do
  save(b)
  count = count + 1
end
bound(prefix, latest, ttl, max)
return count
`;

/** ARGV: prefix, session key. Returns 1 when a live session was dropped. */
export const deleteScript = `${dropSession}
return drop(ARGV[1], ARGV[2])
`;

/** ARGV: prefix, now, ttl, max. */
export const sweepScript = `${dropSession}
bound(ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]))
return 1
`;

/** ARGV: prefix, candidate. The first candidate ever set wins. */
export const secretScript = `
redis.call('SET', ARGV[1] .. 'secret', ARGV[2], 'NX')
return redis.call('GET', ARGV[1] .. 'secret')
`;
