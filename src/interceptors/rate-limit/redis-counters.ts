import { connectOrExplain, redisClient, type RedisClient } from '../../redis/connect.js';
import { TurnBatch } from '../../redis/turn-batch.js';
import { verdict, type Check, type CheckOutcome, type Verdict } from './checks.js';
import type { CounterStore } from './memory-counters.js';
import { countScript } from './redis-counter-script.js';

type ScriptedClient = RedisClient & { cyCount(...args: (string | number)[]): Promise<number[]> };

/** Operations one script call carries at most: a bounded stretch of Redis' single thread per call. */
const MAX_OPERATIONS = 100;

/** An admit (its checks) or a settlement (its adjustments), as one script call carries it. */
type Operation = { op: 'a'; now: number; checks: Check[] } | { op: 's'; now: number; adjustments: { check: Check; delta: number }[] };

/**
 * Limit counters shared by every gateway of a fleet, all in one Lua script (redis-counter-script.ts). The
 * admits and settlements a gateway makes in one event-loop turn go to Redis as one script call
 * (../../redis/turn-batch.ts), so a busy gateway pays one command (client work, a write, a script run) for
 * many requests instead of two per request, and an idle one still sends each admit at once. Operations
 * apply in the order they were made, each admit all-or-nothing.
 */
export class RedisCounters implements CounterStore {
  private readonly client: ScriptedClient;
  private readonly prefix: string;
  /** Per operation: the admit's flat outcomes (4 numbers a check), nothing for a settlement. */
  private readonly calls: TurnBatch<Operation, number[]>;

  constructor(
    private readonly connection: string,
    keyPrefix: string,
    commandTimeoutMs: number,
  ) {
    this.prefix = `{${keyPrefix}}rl:`;
    this.client = redisClient(connection, commandTimeoutMs) as ScriptedClient;
    // One declared key in the prefix's hash tag, so Cluster routes the script to the slot's node.
    this.client.defineCommand('cyCount', { numberOfKeys: 1, lua: countScript });
    this.calls = new TurnBatch((operations) => this.run(operations), MAX_OPERATIONS);
  }

  open(): Promise<void> {
    return connectOrExplain(this.client, this.connection);
  }

  /** `sent`: called when the admit's script call leaves (see TurnBatch.add). */
  async admit(checks: Check[], now: number, sent?: () => void): Promise<Verdict> {
    const flat = await this.calls.add({ op: 'a', now, checks }, sent);
    const outcomes = checks.map(
      (_, i): CheckOutcome => ({ allowed: flat[i * 4] === 1, remaining: flat[i * 4 + 1], resetMs: flat[i * 4 + 2], retryAfterMs: flat[i * 4 + 3], next: 0 }),
    );
    return verdict(checks, outcomes);
  }

  async adjust(adjustments: { check: Check; delta: number }[], now: number): Promise<void> {
    if (adjustments.length > 0) await this.calls.add({ op: 's', now, adjustments });
  }

  /** Sends what is queued (the settlements of the last replies), then quits. */
  async close(): Promise<void> {
    await this.calls.flush();
    await this.client.quit().catch(() => this.client.disconnect());
  }

  /** One script call for a turn's operations; each admit gets its slice of the answer. */
  private async run(operations: Operation[]): Promise<number[][]> {
    const args: (string | number)[] = [this.prefix, this.prefix];
    for (const operation of operations) {
      if (operation.op === 'a') {
        args.push('a', operation.now, operation.checks.length);
        for (const c of operation.checks) args.push(c.kind, c.key, c.limit, c.periodMs, c.burst, c.cost, c.overdraw ? 1 : 0, c.fixedPeriod ? 1 : 0);
      } else {
        args.push('s', operation.now, operation.adjustments.length);
        for (const { check, delta } of operation.adjustments) args.push(check.kind, check.key, check.limit, check.periodMs, delta, check.fixedPeriod ? 1 : 0);
      }
    }
    const flat = await this.client.cyCount(...args);
    let at = 0;
    return operations.map((operation) => {
      if (operation.op === 's') return [];
      const slice = flat.slice(at, at + operation.checks.length * 4);
      at += slice.length;
      return slice;
    });
  }
}
