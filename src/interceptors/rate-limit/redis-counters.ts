import { connectOrExplain, redisClient, type RedisClient } from '../../redis/connect.js';
import { verdict, type Check, type CheckOutcome, type Verdict } from './checks.js';
import type { CounterStore } from './memory-counters.js';
import { countScript } from './redis-counter-script.js';

type ScriptedClient = RedisClient & { cyCount(...args: (string | number)[]): Promise<number[]> };

/** Operations one script call carries at most: a bounded stretch of Redis' single thread per call. */
const MAX_OPERATIONS = 100;

/** An admit or a settlement waiting for its script call, and whoever waits for its result. */
type Operation =
  | { op: 'a'; now: number; checks: Check[]; resolve(outcomes: number[]): void; reject(err: unknown): void }
  | { op: 's'; now: number; adjustments: { check: Check; delta: number }[]; resolve(): void; reject(err: unknown): void };

/**
 * Limit counters shared by every gateway of a fleet, all in one Lua script (redis-counter-script.ts). The
 * admits and settlements a gateway makes in one event-loop turn go to Redis as one script call, at the end
 * of the turn; while a call is out, the next turn's operations wait for it and leave together. An idle
 * gateway thus sends each admit at once, and a busy one pays one command (client work, a write, a script
 * run) for many requests instead of two per request. Operations apply in the order they were made, each
 * admit all-or-nothing as before.
 */
export class RedisCounters implements CounterStore {
  private readonly client: ScriptedClient;
  private readonly prefix: string;
  private queue: Operation[] = [];
  private sending: Promise<void> | undefined;
  private scheduled = false;

  constructor(
    private readonly connection: string,
    keyPrefix: string,
    commandTimeoutMs: number,
  ) {
    this.prefix = `{${keyPrefix}}rl:`;
    this.client = redisClient(connection, commandTimeoutMs) as ScriptedClient;
    // One declared key in the prefix's hash tag, so Cluster routes the script to the slot's node.
    this.client.defineCommand('cyCount', { numberOfKeys: 1, lua: countScript });
  }

  open(): Promise<void> {
    return connectOrExplain(this.client, this.connection);
  }

  admit(checks: Check[], now: number): Promise<Verdict> {
    return new Promise<number[]>((resolve, reject) => this.add({ op: 'a', now, checks, resolve, reject })).then((flat) =>
      verdict(
        checks,
        checks.map(
          (_, i): CheckOutcome => ({
            allowed: flat[i * 4] === 1,
            remaining: flat[i * 4 + 1],
            resetMs: flat[i * 4 + 2],
            retryAfterMs: flat[i * 4 + 3],
            next: 0,
          }),
        ),
      ),
    );
  }

  adjust(adjustments: { check: Check; delta: number }[], now: number): Promise<void> {
    if (adjustments.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.add({ op: 's', now, adjustments, resolve, reject }));
  }

  /** Sends what is queued (settlements of the last replies), then quits. */
  async close(): Promise<void> {
    while (this.queue.length > 0 || this.sending) {
      this.send();
      await this.sending;
    }
    await this.client.quit().catch(() => this.client.disconnect());
  }

  private add(operation: Operation): void {
    this.queue.push(operation);
    if (this.scheduled || this.sending) return; // leaves with the turn's call, or after the one that is out
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.send();
    });
  }

  /** One script call for the queued operations (up to MAX_OPERATIONS), then the next, until none is left. */
  private send(): void {
    if (this.sending || this.queue.length === 0) return;
    const batch = this.queue.splice(0, MAX_OPERATIONS);
    const args: (string | number)[] = [this.prefix, this.prefix];
    for (const operation of batch) {
      if (operation.op === 'a') {
        args.push('a', operation.now, operation.checks.length);
        for (const c of operation.checks) args.push(c.kind, c.key, c.limit, c.periodMs, c.burst, c.cost, c.overdraw ? 1 : 0, c.fixedPeriod ? 1 : 0);
      } else {
        args.push('s', operation.now, operation.adjustments.length);
        for (const { check, delta } of operation.adjustments) args.push(check.kind, check.key, check.limit, check.periodMs, delta, check.fixedPeriod ? 1 : 0);
      }
    }
    this.sending = this.client.cyCount(...args).then(
      (flat) => {
        let at = 0;
        for (const operation of batch) {
          if (operation.op === 's') {
            operation.resolve();
            continue;
          }
          const size = operation.checks.length * 4;
          operation.resolve(flat.slice(at, at + size));
          at += size;
        }
      },
      (err: unknown) => {
        for (const operation of batch) operation.reject(err);
      },
    );
    void this.sending.then(() => {
      this.sending = undefined;
      this.send();
    });
  }
}
