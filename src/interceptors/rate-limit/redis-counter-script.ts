/**
 * The one Lua script of the Redis counters: the sums of checks.ts, in the same order, so a fleet's
 * check-and-charge is atomic in Redis and reaches the very states the in-memory counters would (states are
 * rounded to the thousandth as `stored()` does before `%.3f` writes them; budgets are whole numbers of
 * units).
 *
 * One call carries every admit and settlement a gateway made in one event-loop turn (redis-counter-batch.ts),
 * applied in the order they were made: each command a script runs, and each script call, is Redis CPU on
 * every request of the fleet, so a busy gateway pays the call once for many requests.
 *
 * ARGV: prefix, then operations, each one of
 *   'a' (admit), now, count, then per check: kind (rate|budget), key, limit, period ms, burst, cost,
 *       overdraw (1/0), fixed period (1/0)
 *   's' (settle), now, count, then per adjustment: kind, key, limit, period ms, delta, fixed period (1/0)
 * Returns, for each admit in order, per check: allowed (1/0), remaining, reset ms, retry-after ms. An
 * admit's counters are written only when every one of its checks admits it.
 */
export const countScript = `
local prefix = ARGV[1]
local out = {}

local function admit(b, now, n)
  local writes, all = {}, true
  -- Every counter of the request read at once.
  local keys = {}
  for i = 1, n do keys[i] = prefix .. ARGV[b + (i - 1) * 8 + 2] end
  local states = redis.call('MGET', unpack(keys))
  for i = 1, n do
    local c = b + (i - 1) * 8
    local kind, key = ARGV[c + 1], keys[i]
    local limit, period, burst, cost = tonumber(ARGV[c + 3]), tonumber(ARGV[c + 4]), tonumber(ARGV[c + 5]), tonumber(ARGV[c + 6])
    local overdraw, fixed = ARGV[c + 7] == '1', ARGV[c + 8] == '1'
    local state = tonumber(states[i])
    local ok, remaining, reset, retry, nxt, keep
    if kind == 'budget' then
      local life = period
      if state then
        local ttl = redis.call('PTTL', key)
        if ttl > 0 then life = ttl else state = nil end
      end
      local used = state or 0
      if overdraw then ok = used < limit else ok = used + cost <= limit end
      remaining = math.max(0, limit - used - (ok and cost or 0))
      if ok and not fixed then reset = period else reset = life end
      retry = ok and 0 or life
      nxt = used + cost
      keep = fixed and life or period
    else
      local interval = period / limit
      local window = burst * interval
      local tat = math.max(state or now, now)
      nxt = tat + cost * interval
      local allowAt
      if overdraw then allowAt = tat - window else allowAt = nxt - window end
      if (overdraw and allowAt >= now) or (not overdraw and allowAt > now) then
        ok = false
        remaining = math.max(0, math.floor((now + window - tat) / interval))
        reset = math.ceil(tat - now)
        if overdraw then retry = math.floor(allowAt - now) + 1 else retry = math.ceil(allowAt - now) end
      else
        ok = true
        remaining = math.max(0, math.floor((now + window - nxt) / interval))
        reset, retry = math.ceil(nxt - now), 0
      end
    end
    nxt = math.floor(nxt * 1000 + 0.5) / 1000
    if kind ~= 'budget' then keep = math.max(1, math.ceil(nxt - now)) end
    if not ok then all = false end
    writes[i] = { key, nxt, keep }
    out[#out + 1] = ok and 1 or 0
    out[#out + 1] = remaining
    out[#out + 1] = reset
    out[#out + 1] = retry
  end
  if all then
    for i = 1, n do redis.call('SET', writes[i][1], string.format('%.3f', writes[i][2]), 'PX', writes[i][3]) end
  end
end

local function settle(b, now, n)
  for i = 1, n do
    local c = b + (i - 1) * 6
    local kind, key = ARGV[c + 1], prefix .. ARGV[c + 2]
    local limit, period, delta, fixed = tonumber(ARGV[c + 3]), tonumber(ARGV[c + 4]), tonumber(ARGV[c + 5]), ARGV[c + 6] == '1'
    local state = tonumber(redis.call('GET', key))
    if kind == 'budget' then
      local keep = period
      if state then
        local ttl = redis.call('PTTL', key)
        if ttl <= 0 then state = nil elseif fixed then keep = ttl end
      end
      local used = math.max(0, (state or 0) + delta)
      if state or used ~= 0 then
        redis.call('SET', key, string.format('%.3f', math.floor(used * 1000 + 0.5) / 1000), 'PX', keep)
      end
    else
      local nxt = math.max(now, math.max(state or now, now) + delta * (period / limit))
      nxt = math.floor(nxt * 1000 + 0.5) / 1000
      redis.call('SET', key, string.format('%.3f', nxt), 'PX', math.max(1, math.ceil(nxt - now)))
    end
  end
end

local a = 2
while a <= #ARGV do
  local op, now, n = ARGV[a], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  if op == 'a' then
    admit(a + 2, now, n)
    a = a + 3 + n * 8
  else
    settle(a + 2, now, n)
    a = a + 3 + n * 6
  end
end
return out
`;
