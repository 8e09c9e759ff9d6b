/**
 * The arithmetic of every limit, shared by the in-memory and the Redis counters (the Lua script does the
 * same sums, in the same order, so both stores reach the same states). Two kinds:
 * - `rate`: GCRA (the generic cell rate algorithm, a token bucket kept as one timestamp): `limit` units per
 *   `periodMs`, of which `burst` may be spent at once. State: the theoretical arrival time (TAT) in ms.
 * - `budget`: a total that never refills while its key lives (a session's max_requests / max_tokens /
 *   max_cost_usd, a client's max_cost_usd for its budget period). State: the units used.
 * A request is admitted only if every check admits it, and then all are charged together: a request refused
 * by one limit consumes nothing from the others.
 * Cost limits count whole micro-dollars, so their sums are exact integers in both stores.
 */

/** The limits a request can be refused by (the label of the `limited` metrics). */
export type LimitName =
  | 'session_requests_per_minute'
  | 'session_tokens_per_hour'
  | 'session_max_requests'
  | 'session_max_tokens'
  | 'session_max_cost_usd'
  | 'session_cost_per_hour_usd'
  | 'client_requests_per_minute'
  | 'client_requests_per_hour'
  | 'client_max_cost_usd'
  | 'client_cost_per_hour_usd';

export const LIMIT_NAMES: readonly LimitName[] = [
  'session_requests_per_minute',
  'session_tokens_per_hour',
  'session_max_requests',
  'session_max_tokens',
  'session_max_cost_usd',
  'session_cost_per_hour_usd',
  'client_requests_per_minute',
  'client_requests_per_hour',
  'client_max_cost_usd',
  'client_cost_per_hour_usd',
];

export interface Check {
  kind: 'rate' | 'budget';
  name: LimitName;
  /** Counter key (already scoped: session id or hashed client key). */
  key: string;
  limit: number;
  /** rate: the period the limit is per; budget: how long the counter lives (see `fixedPeriod`). */
  periodMs: number;
  /** rate: units that may be spent at once (≤ limit); budget: unused. */
  burst: number;
  /** Units this request spends: 1 for requests, the estimated tokens or micro-dollars for the others. */
  cost: number;
  /** Requests, tokens or micro-dollars: which ones the X-RateLimit-* headers describe. */
  unit: 'requests' | 'tokens' | 'usd';
  /**
   * Admit while anything of the limit is left, whatever this request's own cost: the request that crosses
   * the limit goes through and the next one is refused (cost limits, whose cost is only a guess until the
   * reply). Otherwise a request is admitted only when its cost fits.
   */
  overdraw?: boolean;
  /**
   * budget: the counter lives `periodMs` from its first charge (a client's budget period) instead of from
   * its last (a session's budget, which lives as long as the session).
   */
  fixedPeriod?: boolean;
}

export interface CheckOutcome {
  allowed: boolean;
  /** Units left once this request is charged (or now, when refused). */
  remaining: number;
  /** Milliseconds until the limit is entirely available again. */
  resetMs: number;
  /** Milliseconds until this request would be admitted; 0 when admitted. */
  retryAfterMs: number;
  /** The state to store when every check admits the request. */
  next: number;
}

/**
 * Evaluates one check against its stored state (undefined: never used). `lifeMs`: how long the stored
 * counter still lives (undefined when there is none), which is when a spent budget is whole again.
 */
export function evaluate(check: Check, state: number | undefined, now: number, lifeMs?: number): CheckOutcome {
  if (check.kind === 'budget') {
    const used = state ?? 0;
    const allowed = check.overdraw ? used < check.limit : used + check.cost <= check.limit;
    const life = lifeMs ?? check.periodMs;
    return {
      allowed,
      remaining: Math.max(0, check.limit - used - (allowed ? check.cost : 0)),
      // Charging restarts a session budget's life; a budget period ends when it ends.
      resetMs: allowed && !check.fixedPeriod ? check.periodMs : life,
      retryAfterMs: allowed ? 0 : life,
      next: used + check.cost,
    };
  }
  const interval = check.periodMs / check.limit;
  const window = check.burst * interval;
  const tat = Math.max(state ?? now, now);
  const next = tat + check.cost * interval;
  // Overdraw: refused only once the bucket holds nothing, i.e. from the moment its spend reaches the limit.
  const allowAt = check.overdraw ? tat - window : next - window;
  if (check.overdraw ? allowAt >= now : allowAt > now) {
    return {
      allowed: false,
      remaining: Math.max(0, Math.floor((now + window - tat) / interval)),
      resetMs: Math.ceil(tat - now),
      // The first whole millisecond at which the spend is below the limit again.
      retryAfterMs: check.overdraw ? Math.floor(allowAt - now) + 1 : Math.ceil(allowAt - now),
      next: tat,
    };
  }
  return { allowed: true, remaining: Math.max(0, Math.floor((now + window - next) / interval)), resetMs: Math.ceil(next - now), retryAfterMs: 0, next };
}

/**
 * The state after charging `delta` more units (negative: a refund) once the true cost is known; undefined
 * when there is nothing to keep (a refund to a budget whose counter is gone).
 */
export function settle(check: Pick<Check, 'kind' | 'limit' | 'periodMs'>, state: number | undefined, delta: number, now: number): number | undefined {
  if (check.kind === 'budget') {
    const used = Math.max(0, (state ?? 0) + delta);
    return state === undefined && used === 0 ? undefined : used;
  }
  const interval = check.periodMs / check.limit;
  return Math.max(now, Math.max(state ?? now, now) + delta * interval);
}

/**
 * The state as it is stored: to the thousandth (of a millisecond, for a bucket), as Redis keeps it
 * (`%.3f`), rounded the same way in both stores so that they hold the very same numbers. Budgets hold whole
 * units, which this leaves as they are.
 */
export function stored(state: number): number {
  return Math.floor(state * 1000 + 0.5) / 1000;
}

/**
 * How long a counter must be kept: a bucket until it is full again; a budget for its period from this
 * charge, or what is left of its period (`lifeMs`) when the period is fixed.
 */
export function keepMs(check: Pick<Check, 'kind' | 'periodMs' | 'fixedPeriod'>, state: number, now: number, lifeMs?: number): number {
  if (check.kind === 'budget') return check.fixedPeriod && lifeMs !== undefined ? lifeMs : check.periodMs;
  return Math.max(1, Math.ceil(state - now));
}

export interface Verdict {
  allowed: boolean;
  /** The limit that refused the request. */
  refusedBy: Check | null;
  /**
   * The check the X-RateLimit-* headers describe: the refusing one, else the tightest request limit (token
   * limits when only they apply; cost limits only when they refuse).
   */
  shown: { check: Check; outcome: CheckOutcome } | null;
  outcomes: CheckOutcome[];
}

/** Combines the outcomes of every check of one request. */
export function verdict(checks: Check[], outcomes: CheckOutcome[]): Verdict {
  let refused = -1;
  outcomes.forEach((outcome, i) => {
    if (!outcome.allowed && (refused < 0 || outcome.retryAfterMs > outcomes[refused].retryAfterMs)) refused = i;
  });
  let shown = refused;
  if (shown < 0) {
    for (let i = 0; i < checks.length; i++) {
      if (checks[i].unit === 'usd') continue;
      const better =
        shown < 0 ||
        (checks[i].unit === 'requests' && checks[shown].unit !== 'requests') ||
        (checks[i].unit === checks[shown].unit && outcomes[i].remaining < outcomes[shown].remaining);
      if (better) shown = i;
    }
  }
  return {
    allowed: refused < 0,
    refusedBy: refused < 0 ? null : checks[refused],
    shown: shown < 0 ? null : { check: checks[shown], outcome: outcomes[shown] },
    outcomes,
  };
}
