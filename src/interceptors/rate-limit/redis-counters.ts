import { connectOrExplain, redisClient, type RedisClient } from '../../redis/connect.js';
import { verdict, type Check, type CheckOutcome, type Verdict } from './checks.js';
import type { CounterStore } from './memory-counters.js';

/**
 * The sums of checks.ts in Lua, so a fleet's check-and-charge is atomic in Redis and costs one round trip.
 * ARGV: prefix, now, count, then per check: kind (rate|budget), key, limit, period ms, burst, cost.
 * Returns per check: allowed (1/0), remaining, reset ms, retry-after ms; counters are written only when
 * every check admits.
 */
const admitScript = `
local prefix, now, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local out, writes, all = {}, {}, true
for i = 1, n do
  local b = 3 + (i - 1) * 6
  local kind, key = ARGV[b + 1], prefix .. ARGV[b + 2]
  local limit, period, burst, cost = tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4]), tonumber(ARGV[b + 5]), tonumber(ARGV[b + 6])
  local state = tonumber(redis.call('GET', key))
  local ok, remaining, reset, retry, nxt, keep
  if kind == 'budget' then
    local used = state or 0
    ok = used + cost <= limit
    remaining = math.max(0, limit - used - (ok and cost or 0))
    reset, retry, nxt, keep = period, (ok and 0 or period), used + cost, period
  else
    local interval = period / limit
    local window = burst * interval
    local tat = math.max(state or now, now)
    nxt = tat + cost * interval
    local allowAt = nxt - window
    if allowAt > now then
      ok = false
      remaining = math.max(0, math.floor((now + window - tat) / interval))
      reset, retry = math.ceil(tat - now), math.ceil(allowAt - now)
    else
      ok = true
      remaining = math.max(0, math.floor((now + window - nxt) / interval))
      reset, retry = math.ceil(nxt - now), 0
    end
    keep = math.max(1, math.ceil(nxt - now))
  end
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

/** ARGV: prefix, now, count, then per adjustment: kind, key, limit, period ms, delta. */
const adjustScript = `
local prefix, now, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 1, n do
  local b = 3 + (i - 1) * 5
  local kind, key = ARGV[b + 1], prefix .. ARGV[b + 2]
  local limit, period, delta = tonumber(ARGV[b + 3]), tonumber(ARGV[b + 4]), tonumber(ARGV[b + 5])
  local state = tonumber(redis.call('GET', key))
  if kind == 'budget' then
    redis.call('SET', key, string.format('%.3f', math.max(0, (state or 0) + delta)), 'PX', period)
  else
    local nxt = math.max(now, math.max(state or now, now) + delta * period / limit)
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
    for (const c of checks) args.push(c.kind, c.key, c.limit, c.periodMs, c.burst, c.cost);
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
    for (const { check, delta } of adjustments) args.push(check.kind, check.key, check.limit, check.periodMs, delta);
    await this.client.cyAdjust(...args);
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}
