import { Detector, type Verdict } from './detection.js';
import { HashTimer, type EngineConfig, type EngineParts } from './engine-parts.js';
import { Lineage } from './lineage/lineage.js';
import { Fingerprinter } from './fingerprint.js';
import { FleetState } from './fleet.js';
import { fleetKeysOf } from './fleet-keys.js';
import { partitionTag } from './identity.js';
import { newSessionId } from './ids.js';
import { SessionCounters, sessionMetrics } from './metrics.js';
import { SessionQueries } from './queries.js';
import { pendingFor, recordReply, type Pending } from './recording.js';
import { resetPhraseMatcher } from './reset-phrases.js';
import { SessionIndex, type Session } from './session-index.js';
import type { StoreLink } from './store/store-link.js';
import type { StoredSession } from './store/types.js';
import type {
  RecordedReply,
  SessionDecision,
  SessionEngine,
  SessionLookup,
  SessionMetrics,
  SessionQuery,
  SessionRequest,
  SessionRule,
  SessionView,
} from './types.js';

export type { EngineConfig } from './engine-parts.js';

export interface EngineOptions {
  /** Milliseconds clock (default Date.now); tests inject one to expire sessions without waiting. */
  now?: () => number;
  /** How often expired sessions are swept, in ms (default: a quarter of the TTL, between 1 s and 60 s). */
  sweepEveryMs?: number;
  /** A shared store (file, Redis, Postgres): consulted when local detection finds nothing, written after each reply. */
  store?: StoreLink;
  /** The hashing secret (the store's shared one); default: `hash_key`, else random per process. */
  secret?: string;
}

/** Delegations (tool calls handing a task to a sub-agent) remembered for linking, and for how long. */
const MAX_DELEGATIONS = 20_000;
const DELEGATION_TTL_MS = 30 * 60_000;

/**
 * Session detection (docs/sessions.md): owns the live index and wires the parts together. The rules are in
 * detection.ts, what a reply leaves behind in recording.ts, the shared-store keys in fleet-keys.ts, the
 * sessions API's reads in queries.ts. Pure: no HTTP, no I/O besides the optional store, clock injectable.
 */
export class DetectionEngine implements SessionEngine {
  private readonly parts: EngineParts;
  private readonly index: SessionIndex;
  private readonly detector: Detector;
  private readonly queries: SessionQueries;
  private readonly counters = new SessionCounters();
  private readonly timer = new HashTimer();
  private readonly sweeper: NodeJS.Timeout;
  private readonly store: StoreLink | null;
  private readonly lineage: Lineage;

  constructor(config: EngineConfig, options: EngineOptions = {}) {
    const now = options.now ?? Date.now;
    // Enough recent replies to recognise every edit that drops fewer messages than a reset needs: going
    // back one reply drops two messages, so that reaches back ceil((min - 1) / 2) replies besides the
    // latest. Deeper cut-backs are recognised through the session's first reply (its anchor).
    const keepReplies = Math.min(8, Math.max(2, Math.ceil((config.min_messages_for_new_session - 1) / 2) + 1));
    const ttlMs = config.session_ttl_seconds * 1000;
    this.index = new SessionIndex({
      repliesPerSession: keepReplies,
      maxSessions: config.max_sessions,
      ttlMs,
      now,
      onRemove: (_session, reason) => {
        if (reason === 'evict') this.counters.evicted++;
        else if (reason === 'expire') this.counters.expired++;
        else this.counters.ended++;
      },
    });
    const sweepEveryMs = options.sweepEveryMs ?? Math.min(60_000, Math.max(1_000, ttlMs / 4));
    this.sweeper = setInterval(() => this.index.purgeStale(), sweepEveryMs).unref();
    this.store = options.store ?? null;
    this.parts = {
      config,
      fingerprints: new Fingerprinter(options.secret ?? config.hash_key),
      index: this.index,
      fleet: this.store ? new FleetState(this.index, keepReplies) : null,
      resetPhrase: resetPhraseMatcher(config.reset_phrases),
      hash: (compute) => this.timer.time(compute),
    };
    this.detector = new Detector(this.parts);
    this.lineage = new Lineage(this.parts, { maxDelegations: MAX_DELEGATIONS, delegationTtlMs: DELEGATION_TTL_MS, now });
    this.queries = new SessionQueries(this.index, this.store, now);
  }

  /**
   * Synchronous unless a shared store is attached and local detection found nothing: then the store is
   * asked once (one round trip) whether another gateway, or an earlier run, knows the conversation.
   */
  decide(request: SessionRequest): SessionDecision | Promise<SessionDecision> {
    const store = this.store;
    if (!store) return this.decideNow(request);
    const started = performance.now();
    this.timer.reset();
    const verdict = this.detector.detect(request);
    if (!verdict.miss) return this.conclude(request, verdict, started);
    const keys = fleetKeysOf(this.parts, request);
    // A store in this process answers at once: nothing can have changed meanwhile, so a miss stands.
    const local = store.lookupNow(keys);
    if (local) {
      if (local.length === 0) return this.conclude(request, verdict, started);
      this.hydrate(store, local);
      return this.conclude(request, this.detector.detect(request), started);
    }
    const detectMs = performance.now() - started;
    return store.lookup(keys).then((found) => {
      this.hydrate(store, found);
      // Decided again even when the store knew nothing: a concurrent request may have created the session
      // (the same client-given name) while this one waited.
      const again = performance.now();
      return this.conclude(request, this.detector.detect(request), again - detectMs);
    });
  }

  /** Rebuilds sessions the store knew in the local index, with their parent links. */
  private hydrate(store: StoreLink, found: StoredSession[]): void {
    for (const stored of found) {
      const session = this.parts.fleet!.hydrate(stored);
      if (session.parent) this.lineage.link(session, session.parent);
    }
    store.restored(found.length);
  }

  /** Decides from what this gateway alone knows: always synchronous (the memory-only engine, benchmarks). */
  decideNow(request: SessionRequest): SessionDecision {
    const started = performance.now();
    this.timer.reset();
    return this.conclude(request, this.detector.detect(request), started);
  }

  recordReply(decision: SessionDecision, reply: RecordedReply): void | Promise<void> {
    const pending = decision.pending as Pending | null;
    if (!pending || !this.index.alive(pending.session)) return; // ended or evicted meanwhile
    this.lineage.onReply(pending.session, pending.partition, reply.replies);
    const write = recordReply(this.parts, pending, reply);
    this.counters.longest = Math.max(this.counters.longest, pending.session.messageCount);
    if (write) return this.store!.save(write);
  }

  usage(decision: SessionDecision): { requests: number; input_tokens: number; output_tokens: number } | undefined {
    const session = (decision.pending as Pending | null)?.session;
    return session && { requests: session.requests, input_tokens: session.inputTokens, output_tokens: session.outputTokens };
  }

  get(key: string): SessionView | undefined {
    return this.queries.get(key);
  }

  children(key: string): string[] {
    return this.lineage.children(key);
  }

  list(query: SessionQuery): Promise<{ sessions: SessionView[]; total: number }> {
    return this.queries.list(query);
  }

  find(id: string): Promise<SessionLookup> {
    return this.queries.find(id);
  }

  endSession(id: string): Promise<SessionLookup> {
    return this.queries.endSession(id);
  }

  end(key: string): boolean {
    return this.queries.end(key);
  }

  metrics(): SessionMetrics {
    return { ...sessionMetrics(this.counters, this.index), lineage: this.lineage.metrics() };
  }

  /** Index sizes, for tests: every entry must go when its session goes. */
  indexSizes() {
    return this.index.indexSizes();
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.index.clear();
    this.lineage.clear();
    await this.store?.close();
  }

  /** Creates the session a new verdict asked for, counts the decision, and leaves the reply its pending state. */
  private conclude(request: SessionRequest, verdict: Verdict, started: number): SessionDecision {
    const session =
      verdict.session ?? (verdict.named ? this.create(verdict.named.id, verdict.rule, verdict.named.key) : this.generated(request.partition, verdict.rule));
    session.requests++;
    session.lastSeen = this.index.clock();
    // Lineage: a new session may be a sub-agent's; a session that delegated may now hold its answer.
    if (!verdict.session) this.lineage.placeNew(session, request);
    else this.lineage.confirm(session, request.conversation, verdict.firstNew, request.partition);
    this.lineage.observeTrace(session, request.partition, request.traceId);
    const pending = pendingFor(this.parts, session, request.partition, request.conversation, verdict.lastPosition, verdict.firstNew);
    const c = this.counters;
    c.considered++;
    c.decisions[verdict.rule]++;
    if (!verdict.isNew) c.hits++;
    if (verdict.rule === 'fuzzy') c.fuzzyMatches++;
    c.hashing.add(this.timer.ms);
    c.lookup.add(performance.now() - started - this.timer.ms);
    return {
      sessionId: session.id,
      sessionKey: session.key,
      isNew: verdict.isNew,
      rule: verdict.rule,
      reason: verdict.reason,
      parent: session.parent,
      pending,
    };
  }

  private create(id: string, rule: SessionRule, key = id): Session {
    this.counters.totalCreated++;
    return this.index.create(id, rule, key);
  }

  /** A new session with a random id, remembering its partition (a client may name the id to rejoin it). */
  private generated(partition: string, rule: SessionRule): Session {
    const session = this.create(newSessionId(), rule);
    session.partitionTag = this.timer.time(() => partitionTag(this.parts.fingerprints, partition)).small;
    return session;
  }
}
