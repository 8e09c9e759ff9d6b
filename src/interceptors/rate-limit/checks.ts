/**
 * The arithmetic of every limit, shared by the in-memory and the Redis counters (the Lua script does the
 * same sums). Two kinds:
 * - `rate`: GCRA (the generic cell rate algorithm, a token bucket kept as one timestamp): `limit` units per
 *   `periodMs`, of which `burst` may be spent at once. State: the theoretical arrival time (TAT) in ms.
 * - `budget`: a total that never refills while its key lives (a session's max_requests / max_tokens).
 *   State: the units used.
 * A request is admitted only if every check admits it, and then all are charged together: a request refused
 * by one limit consumes nothing from the others.
 */

/** The limits a request can be refused by (the label of the `limited` metrics). */
export type LimitName =
  | 'session_requests_per_minute'
  | 'session_tokens_per_hour'
  | 'session_max_requests'
  | 'session_max_tokens'
  | 'client_requests_per_minute'
  | 'client_requests_per_hour';

export const LIMIT_NAMES: readonly LimitName[] = [
  'session_requests_per_minute',
  'session_tokens_per_hour',
  'session_max_requests',
  'session_max_tokens',
  'client_requests_per_minute',
  'client_requests_per_hour',
];

export interface Check {
  kind: 'rate' | 'budget';
  name: LimitName;
  /** Counter key (already scoped: session id or hashed client key). */
  key: string;
  limit: number;
  /** rate: the period the limit is per; budget: how long the counter lives after its last use. */
  periodMs: number;
  /** rate: units that may be spent at once (≤ limit); budget: unused. */
  burst: number;
  /** Units this request spends: 1 for requests, the estimated tokens for token limits. */
  cost: number;
  /** Requests or tokens: which ones the X-RateLimit-* headers describe. */
  unit: 'requests' | 'tokens';
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

/** Evaluates one check against its stored state (undefined: never used). */
export function evaluate(check: Check, state: number | undefined, now: number): CheckOutcome {
  if (check.kind === 'budget') {
    const used = state ?? 0;
    const allowed = used + check.cost <= check.limit;
    return {
      allowed,
      remaining: Math.max(0, check.limit - used - (allowed ? check.cost : 0)),
      resetMs: check.periodMs,
      retryAfterMs: allowed ? 0 : check.periodMs,
      next: used + check.cost,
    };
  }
  const interval = check.periodMs / check.limit;
  const window = check.burst * interval;
  const tat = Math.max(state ?? now, now);
  const next = tat + check.cost * interval;
  const allowAt = next - window;
  if (allowAt > now) {
    return {
      allowed: false,
      remaining: Math.max(0, Math.floor((now + window - tat) / interval)),
      resetMs: Math.ceil(tat - now),
      retryAfterMs: Math.ceil(allowAt - now),
      next: tat,
    };
  }
  return { allowed: true, remaining: Math.max(0, Math.floor((now + window - next) / interval)), resetMs: Math.ceil(next - now), retryAfterMs: 0, next };
}

/** The state after charging `delta` more units (negative: a refund) once the true cost is known. */
export function settle(check: Pick<Check, 'kind' | 'limit' | 'periodMs'>, state: number | undefined, delta: number, now: number): number {
  if (check.kind === 'budget') return Math.max(0, (state ?? 0) + delta);
  const interval = check.periodMs / check.limit;
  return Math.max(now, Math.max(state ?? now, now) + delta * interval);
}

/** How long a counter must be kept: a bucket until it is full again, a budget for its period. */
export function keepMs(check: Pick<Check, 'kind' | 'periodMs' | 'burst' | 'limit'>, state: number, now: number): number {
  return check.kind === 'budget' ? check.periodMs : Math.max(1, Math.ceil(state - now));
}

export interface Verdict {
  allowed: boolean;
  /** The limit that refused the request. */
  refusedBy: Check | null;
  /** The check the X-RateLimit-* headers describe: the refusing one, else the tightest request limit. */
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
