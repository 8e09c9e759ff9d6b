import { connectOrExplain, redisClient, type RedisClient } from '../../redis/connect.js';
import { verdict, type Check, type CheckOutcome, type Verdict } from './checks.js';
import type { CounterStore } from './memory-counters.js';

/**
 * The sums of checks.ts in Lua, in the same order, so a fleet's check-and-charge is atomic in Redis, costs
 * one round trip, and reaches the very states the in-memory counters would (states are rounded to the
 * thousandth as `stored()` does before `%.3f` writes them; budgets are whole numbers of units).
 * ARGV: prefix, now, count, then per check: kind (rate|budget), key, limit, period ms, burst, cost,
 * overdraw (1/0), fixed period (1/0).
 * Returns per check: allowed (1/0), remaining, reset ms, retry-after ms; counters are written only when
 * every check admits.
 */
const admitScript = `
local prefix, now, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local out, writes, all = {}, {}, true
-- Every counter read at once: each command a script runs is Redis CPU on every request of the fleet.
local keys = {}
for i = 1, n do keys[i] = prefix .. ARGV[3 + (i - 1) * 8 + 2] end
local states = redis.call('MGET', unpack(keys))
for i = 1, n do
  local b = 3 + (i - 1) * 8
  local kind, key = ARGV[b + 1], keys[i]
  local limit, period, burst, cost = tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4]), tonumber(ARGV[b + 5]), tonumber(ARGV[b + 6])
  local overdraw, fixed = ARGV[b + 7] == '1', ARGV[b + 8] == '1'
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
return out
`;

/** ARGV: prefix, now, count, then per adjustment: kind, key, limit, period ms, delta, fixed period (1/0). */
const adjustScript = `
local prefix, now, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 1, n do
  local b = 3 + (i - 1) * 6
  local kind, key = ARGV[b + 1], prefix .. ARGV[b + 2]
  local limit, period, delta, fixed = tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4]), tonumber(ARGV[b + 5]), ARGV[b + 6] == '1'
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
return n
`;

type ScriptedClient = RedisClient & {
  cyAdmit(...args: (string | number)[]): Promise<number[]>;
  cyAdjust(...args: (string | number)[]): Promise<number>;
};

/** Limit counters shared by every gateway of a fleet: each admit and each adjust is one Lua script. */
export class RedisCounters implements CounterStore {
  private readonly client: ScriptedClient;
  private readonly prefix: string;

  constructor(
    private readonly connection: string,
    keyPrefix: string,
    commandTimeoutMs: number,
  ) {
    this.prefix = `{${keyPrefix}}rl:`;
    this.client = redisClient(connection, commandTimeoutMs) as ScriptedClient;
    // One declared key in the prefix's hash tag, so Cluster routes the scripts to the slot's node.
    this.client.defineCommand('cyAdmit', { numberOfKeys: 1, lua: admitScript });
    this.client.defineCommand('cyAdjust', { numberOfKeys: 1, lua: adjustScript });
  }

  open(): Promise<void> {
    return connectOrExplain(this.client, this.connection);
  }

  async admit(checks: Check[], now: number): Promise<Verdict> {
    const args: (string | number)[] = [this.prefix, this.prefix, now, checks.length];
    for (const c of checks) args.push(c.kind, c.key, c.limit, c.periodMs, c.burst, c.cost, c.overdraw ? 1 : 0, c.fixedPeriod ? 1 : 0);
    const flat = await this.client.cyAdmit(...args);
    const outcomes: CheckOutcome[] = checks.map((_, i) => ({
      allowed: flat[i * 4] === 1,
      remaining: flat[i * 4 + 1],
      resetMs: flat[i * 4 + 2],
      retryAfterMs: flat[i * 4 + 3],
      next: 0,
    }));
    return verdict(checks, outcomes);
  }

  async adjust(adjustments: { check: Check; delta: number }[], now: number): Promise<void> {
    if (adjustments.length === 0) return;
    const args: (string | number)[] = [this.prefix, this.prefix, now, adjustments.length];
    for (const { check, delta } of adjustments) args.push(check.kind, check.key, check.limit, check.periodMs, delta, check.fixedPeriod ? 1 : 0);
    await this.client.cyAdjust(...args);
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
