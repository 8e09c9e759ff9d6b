import type { SessionConfig } from '../config/schema.js';
import type { Conversation } from '../conversation/canonical.js';
import { spokenText } from '../conversation/segments.js';
import { combineSketches, Fingerprinter, looseForm, NO_SKETCH, paragraphs, sketchValue, type DigestKey } from './fingerprint.js';
import { newSessionId } from './ids.js';
import { SessionCounters } from './metrics.js';
import { resetPhraseMatcher } from './reset-phrases.js';
import { FleetKeys, FleetState } from './fleet.js';
import { SessionIndex, type Candidate, type Session } from './session-index.js';
import type { StoreLink } from './store/store-link.js';
import { mergeTopic, topicOverlap, topicWords } from './topic.js';
import type { StoredSession } from './store/types.js';
import type { RecordedReply, SessionDecision, SessionEngine, SessionMetrics, SessionQuery, SessionRequest, SessionRule, SessionView } from './types.js';

export type EngineConfig = Omit<SessionConfig, 'enabled' | 'persistence' | 'explicit_id_headers' | 'partition_by'>;

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

/** Sessions the sessions API reads from a shared store at most per call (it sorts and pages them itself). */
const LIST_CAP = 10_000;

const sortKeys: Record<SessionQuery['sort'], (view: SessionView) => number> = {
  last_seen: (v) => Date.parse(v.last_seen),
  created: (v) => Date.parse(v.created_at),
  requests: (v) => v.requests,
  tokens: (v) => v.input_tokens + v.output_tokens,
  messages: (v) => v.messages,
};

/** A session as a shared store holds it, in the API's shape. */
function storedView(stored: StoredSession): SessionView {
  return {
    id: stored.state.id,
    created_at: new Date(stored.state.createdAt).toISOString(),
    last_seen: new Date(stored.lastSeen).toISOString(),
    messages: stored.state.messageCount,
    requests: stored.requests,
    input_tokens: stored.inputTokens,
    output_tokens: stored.outputTokens,
    rule: stored.state.rule,
  };
}

/** Messages before a reply that make up its context (tells apart equal replies in different sessions). */
const CONTEXT_SIZE = 3;
/** Messages of each session kept as sketch values for fuzzy similarity. */
const SKETCH_SIZE = 12;
/** Paragraphs of the latest reply indexed for compaction, and their minimum length. */
const PARAGRAPH_MIN = 80;
const PARAGRAPH_LIMIT = 2;
/** User messages of a request searched for a quoted summary (a compacted history puts it up front). */
const COMPACTION_SCAN = 4;

interface Pending {
  session: Session;
  partition: string;
  /** Conversation position of the request's last message. */
  lastPosition: number;
  /** Context sketch of the request's last messages: the `prev` of the replies to come. */
  context: number;
  /** Sketch values of the messages this request added to the conversation. */
  added: number[];
  topic: number[] | null;
}

interface Verdict {
  /** The session joined; absent for a new one, which is created only once the verdict is final. */
  session?: Session;
  /** The new session's id and key when a client named it. */
  named?: { id: string; key: string };
  /** Local detection knew nothing that links this request: a shared store may know more. */
  miss?: boolean;
  isNew: boolean;
  rule: SessionRule;
  reason: string;
  lastPosition: number;
  /** Index of the first request message that is new to the session. */
  firstNew: number;
}

/**
 * Session detection (SESSIONS.md). A request is linked through the last assistant message of its history:
 * if it is a reply the gateway returned, the request continues that reply's session. Only that message is
 * hashed (plus, in the rare ambiguous or fuzzy cases, a few short sketches), so the cost does not grow with
 * the length of an agent's history. Pure: no HTTP, no I/O, clock injectable.
 */
export class DetectionEngine implements SessionEngine {
  private readonly fingerprints: Fingerprinter;
  private readonly index: SessionIndex;
  private readonly counters = new SessionCounters();
  private readonly resetPhrase: (text: string) => string | undefined;
  private readonly keepReplies: number;
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;
  private readonly store: StoreLink | null;
  private readonly fleet: FleetState | null;
  private hashMs = 0;

  constructor(
    private readonly config: EngineConfig,
    options: EngineOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.fingerprints = new Fingerprinter(options.secret ?? config.hash_key);
    this.resetPhrase = resetPhraseMatcher(config.reset_phrases);
    // Enough recent replies to recognise every edit that drops fewer messages than a reset needs: going
    // back one reply drops two messages, so that reaches back ceil((min - 1) / 2) replies besides the
    // latest. Deeper cut-backs are recognised through the session's first reply (its anchor).
    this.keepReplies = Math.min(8, Math.max(2, Math.ceil((config.min_messages_for_new_session - 1) / 2) + 1));
    this.index = new SessionIndex({
      repliesPerSession: this.keepReplies,
      maxSessions: config.max_sessions,
      ttlMs: config.session_ttl_seconds * 1000,
      now: this.now,
      onRemove: (_session, reason) => {
        if (reason === 'evict') this.counters.evicted++;
        else if (reason === 'expire') this.counters.expired++;
        else this.counters.ended++;
      },
    });
    const ttlMs = config.session_ttl_seconds * 1000;
    const sweepEveryMs = options.sweepEveryMs ?? Math.min(60_000, Math.max(1_000, ttlMs / 4));
    this.sweeper = setInterval(() => this.index.purgeStale(), sweepEveryMs).unref();
    this.store = options.store ?? null;
    this.fleet = this.store ? new FleetState(this.index, this.keepReplies) : null;
  }

  /**
   * Synchronous unless a shared store is attached and local detection found nothing: then the store is
   * asked once (one round trip) whether another gateway, or an earlier run, knows the conversation.
   */
  decide(request: SessionRequest): SessionDecision | Promise<SessionDecision> {
    if (!this.store) return this.decideNow(request);
    const started = performance.now();
    this.hashMs = 0;
    const verdict = this.detect(request);
    if (!verdict.miss) return this.conclude(request, verdict, started);
    const keys = this.fleetKeys(request);
    const detectMs = performance.now() - started;
    return this.store.lookup(keys).then((found) => {
      for (const stored of found) this.fleet!.hydrate(stored);
      this.store!.restored(found.length);
      // Decided again even when the store knew nothing: a concurrent request may have created the session
      // (the same client-given name) while this one waited.
      const again = performance.now();
      return this.conclude(request, this.detect(request), again - detectMs);
    });
  }

  /** Decides from what this gateway alone knows: always synchronous (the memory-only engine, benchmarks). */
  decideNow(request: SessionRequest): SessionDecision {
    const started = performance.now();
    this.hashMs = 0;
    return this.conclude(request, this.detect(request), started);
  }

  private conclude(request: SessionRequest, verdict: Verdict, started: number): SessionDecision {
    const decision = this.join(request, verdict);
    this.counters.considered++;
    this.counters.decisions[verdict.rule]++;
    if (!verdict.isNew) this.counters.hits++;
    if (verdict.rule === 'fuzzy') this.counters.fuzzyMatches++;
    this.counters.hashing.add(this.hashMs);
    this.counters.lookup.add(performance.now() - started - this.hashMs);
    return decision;
  }

  /** Every key a store may file this request's session under (only after a local miss: a few hashes). */
  private fleetKeys(request: SessionRequest): string[] {
    const { conversation: c, partition } = request;
    const keys = new FleetKeys();
    if (request.explicitId) return keys.session(this.explicitKey(partition, request.explicitId)).keys;
    if (request.previousResponseId) keys.response(this.fingerprints.keyString(partition, 'response', request.previousResponseId));
    let last = c.length - 1;
    while (last >= 0 && c.role(last) !== 'assistant') last--;
    if (last >= 0) {
      const lastKey = this.fingerprints.messageKey(partition, c.message(last));
      keys.reply(lastKey);
      let first = 0;
      while (first < last && c.role(first) !== 'assistant') first++;
      keys.anchor(Fingerprinter.derived(first === last ? lastKey : this.fingerprints.messageKey(partition, c.message(first))));
      if (this.config.fuzzy_matching) keys.loose(this.fingerprints.key(partition, 'loose', looseForm(c.message(last))));
    }
    let scanned = 0;
    for (let i = 0; i < c.length && scanned < COMPACTION_SCAN; i++) {
      if (c.role(i) !== 'user') continue;
      scanned++;
      for (const paragraph of paragraphs(spokenText(c.message(i)), PARAGRAPH_MIN, PARAGRAPH_LIMIT)) keys.paragraph(this.fingerprints.keyString(partition, 'paragraph', paragraph));
    }
    return keys.keys;
  }

  /** Client-given names are scoped to the partition: two tenants that both say "session-1" stay apart. */
  private explicitKey(partition: string, name: string): string {
    return `${Buffer.from(this.fingerprints.keyString(partition, 'explicit', ''), 'latin1').toString('hex')}:${name}`;
  }

  recordReply(decision: SessionDecision, reply: RecordedReply): void {
    const pending = decision.pending as Pending | null;
    if (!pending || !this.index.alive(pending.session)) return; // ended or evicted meanwhile
    const { session, partition } = pending;
    const position = pending.lastPosition + 1;
    session.messageCount = position + 1;
    this.counters.longest = Math.max(this.counters.longest, session.messageCount);
    session.inputTokens += reply.usage?.input_tokens ?? 0;
    session.outputTokens += reply.usage?.output_tokens ?? 0;

    const fleet = this.fleet;
    let loose: DigestKey | null = null;
    if (reply.replies.length > 0) {
      const keys = reply.replies.map((message) => this.fingerprints.messageKey(partition, message));
      this.index.addReplies(session, keys, position, pending.context);
      fleet?.addReplies(session, keys, position, pending.context);
      if (session.anchorSeq === 0) {
        const anchor = Fingerprinter.derived(keys[0]);
        this.index.setAnchor(session, anchor, position);
        fleet?.setAnchor(session, anchor, position);
      }
    }
    const main = reply.replies[0];
    if (main) {
      const quoted = paragraphs(spokenText(main), PARAGRAPH_MIN, PARAGRAPH_LIMIT);
      this.index.setParagraphs(session, quoted.map((p) => this.fingerprints.keyString(partition, 'paragraph', p)));
      if (this.config.fuzzy_matching) this.index.setLoose(session, (loose = this.fingerprints.key(partition, 'loose', looseForm(main))));
      session.sketch = (session.sketch + String.fromCharCode(...pending.added, sketchValue(main))).slice(-SKETCH_SIZE);
    }
    if (reply.responseId) this.index.addResponse(session, this.fingerprints.keyString(partition, 'response', reply.responseId), 4);
    if (pending.topic) session.extras().topic = mergeTopic(session.extra?.topic ?? [], pending.topic);
    if (fleet) {
      const tokens = { input: reply.usage?.input_tokens ?? 0, output: reply.usage?.output_tokens ?? 0 };
      this.store!.save(fleet.write(session, loose, session.extra?.paragraphKeys ?? [], session.extra?.responseKeys ?? [], tokens));
    }
  }

  get(id: string): SessionView | undefined {
    const session = this.index.peek(id);
    return session && this.view(session);
  }

  async list(query: SessionQuery): Promise<{ sessions: SessionView[]; total: number }> {
    const now = this.now();
    let views: SessionView[];
    if (this.store) {
      views = (await this.store.list(LIST_CAP)).map(storedView);
    } else {
      views = [];
      for (const session of this.index.values()) views.push(this.view(session));
    }
    const matching = views.filter(
      (v) => (!query.rule || v.rule === query.rule) && (!query.q || v.id.includes(query.q)) && (!query.activeWithinMs || now - Date.parse(v.last_seen) <= query.activeWithinMs),
    );
    const key = sortKeys[query.sort];
    const direction = query.order === 'asc' ? 1 : -1;
    matching.sort((a, b) => direction * (key(a) - key(b)) || a.id.localeCompare(b.id));
    return { sessions: matching.slice(query.offset, query.offset + query.limit), total: matching.length };
  }

  async find(id: string): Promise<SessionView | undefined> {
    const local = this.get(id) ?? (this.named(id)[0] && this.view(this.named(id)[0]));
    if (local) return local;
    const stored = await this.store?.get(id);
    return stored ? storedView(stored) : undefined;
  }

  async endSession(id: string): Promise<boolean> {
    const keys = new Set([id, ...this.named(id).map((session) => session.key)]);
    if (this.store) for (const stored of await this.store.list(LIST_CAP)) if (stored.state.id === id) keys.add(stored.state.key);
    let ended = false;
    for (const key of keys) {
      if (this.index.delete(key)) ended = true;
      if (this.store && (await this.store.remove(key))) ended = true;
    }
    return ended;
  }

  /** Live local sessions a client named `id` (one per partition that used the name). */
  private named(id: string): Session[] {
    const out: Session[] = [];
    for (const session of this.index.values()) if (session.id === id && session.key !== id) out.push(session);
    return out;
  }

  usage(decision: SessionDecision): { requests: number; input_tokens: number; output_tokens: number } | undefined {
    const session = (decision.pending as Pending | null)?.session;
    return session && { requests: session.requests, input_tokens: session.inputTokens, output_tokens: session.outputTokens };
  }

  end(id: string): boolean {
    const ended = this.index.delete(id);
    this.store?.delete(id); // other gateways may know it even when this one does not
    return ended;
  }

  metrics(): SessionMetrics {
    const c = this.counters;
    let messages = 0;
    for (const session of this.index.values()) messages += session.messageCount;
    const active = this.index.size;
    const lookup = c.lookup.summary();
    const hashing = c.hashing.summary();
    return {
      active_count: active,
      total_created: c.totalCreated,
      cache_hit_rate: c.considered ? Math.round((c.hits / c.considered) * 1000) / 1000 : 0,
      fuzzy_matches: c.fuzzyMatches,
      average_session_length: active ? Math.round((messages / active) * 10) / 10 : 0,
      longest_session: c.longest,
      evicted: c.evicted,
      expired: c.expired,
      ended: c.ended,
      resets: { reset_phrase: c.decisions.reset_phrase, count_drop: c.decisions.count_drop, context_break: c.decisions.context_break },
      explicit: c.decisions.explicit,
      decisions: { ...c.decisions },
      requests_considered: c.considered,
      performance: {
        session_lookup_ms: lookup.mean,
        session_lookup_p99_ms: lookup.p99,
        hash_computation_ms: hashing.mean,
        hash_computation_p99_ms: hashing.p99,
      },
    };
  }

  /** Index sizes, for tests: every entry must go when its session goes. */
  indexSizes() {
    return this.index.indexSizes();
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    this.index.clear();
    await this.store?.close();
  }

  private detect(request: SessionRequest): Verdict {
    const { conversation: c, partition } = request;
    const n = c.length;

    if (request.explicitId) {
      const key = this.explicitKey(partition, request.explicitId);
      const session = this.index.touch(key);
      const named = session ? undefined : { id: request.explicitId, key };
      return { session, named, miss: !session, isNew: !session, rule: 'explicit', reason: 'the client named its session', lastPosition: n - 1, firstNew: n - 1 };
    }

    if (request.previousResponseId) {
      const owner = this.index.responseOwner(this.hash(() => this.fingerprints.keyString(partition, 'response', request.previousResponseId!)));
      if (owner && this.index.alive(owner)) {
        return this.continuing(c, owner, 'continued', 'previous_response_id names a reply of this session', owner.messageCount + n - 1, 0);
      }
    }

    let last = n - 1;
    while (last >= 0 && c.role(last) !== 'assistant') last--;
    let turn = n - 1;
    while (turn > last && c.role(turn) !== 'user') turn--;

    if (turn > last) {
      const phrase = this.resetPhrase(spokenText(c.message(turn)));
      if (phrase) return this.fresh(c, 'reset_phrase', `the latest user message says "${phrase}"`);
    }

    const lastKey = last >= 0 ? this.hash(() => this.fingerprints.messageKey(partition, c.message(last))) : undefined;
    if (lastKey) {
      const candidates = this.index.replies(lastKey);
      if (candidates.length > 0) {
        const chosen = this.pick(candidates, c, last);
        if (chosen) return this.fromReply(c, chosen, last);
        return this.fresh(c, 'first', `${candidates.length} sessions share this history and none fits better: a session of its own rather than a guess`);
      }
    }

    const early = lastKey ? this.earlierTurn(c, partition, last, lastKey) : undefined;
    if (early && early.drop >= this.config.min_messages_for_new_session) {
      return this.fresh(c, 'count_drop', `the history went back to the start of ${early.session.id}, dropping ${early.drop} messages`);
    }
    if (early && early.first === last) {
      // Back to the first reply with only new user turns after it: an edit the recent replies no longer
      // reach. (Unknown assistant messages after it would be history this session never had.)
      const reason = 'the history goes back to an earlier turn of this session (an edit)';
      return this.continuing(c, early.session, 'continued', reason, early.position + (n - 1 - early.first), last + 1);
    }

    const compacted = this.compactionOwner(c, partition);
    if (compacted) {
      return this.continuing(c, compacted.session, 'continued', 'the history quotes the latest reply of this session (compaction)', compacted.session.messageCount + n - 1 - compacted.at, compacted.at);
    }

    if (this.config.fuzzy_matching && last >= 0) {
      const fuzzy = this.fuzzyOwner(c, partition, last);
      if (fuzzy) {
        const reason = `history ${Math.round(fuzzy.similarity * 100)}% similar to this session`;
        return this.continuing(c, fuzzy.session, 'fuzzy', reason, fuzzy.session.messageCount - 1 + (n - 1 - last), last + 1);
      }
    }

    if (last < 0 && !request.previousResponseId) return this.fresh(c, 'first', 'first request of a conversation');
    return { ...this.fresh(c, 'first', 'no known reply in the history'), miss: true };
  }

  /** The request continues the conversation at `ref`; decide continued, retry, edit, or a count drop. */
  private fromReply(c: Conversation, candidate: Candidate, last: number): Verdict {
    const { session, position } = candidate;
    const requestAfter = c.length - (last + 1);
    const drop = session.messageCount - (position + 1) - requestAfter;
    if (drop >= this.config.min_messages_for_new_session) {
      return this.fresh(c, 'count_drop', `the history dropped ${drop} messages from ${session.id}`);
    }
    const follow = last + 1 < c.length ? sketchValue(c.message(last + 1)) : NO_SKETCH;
    const latest = session.latestPosition === position;
    let rule: SessionRule = 'continued';
    let reason = 'the history contains the latest reply of this session';
    if (!latest && candidate.followUp !== NO_SKETCH && candidate.followUp === follow) {
      rule = 'retry';
      reason = 'the same turn was sent again';
    } else if (!latest) {
      reason = 'an earlier turn was edited or regenerated';
    }
    if (candidate.followUp === NO_SKETCH && follow !== NO_SKETCH) {
      this.index.claim(candidate, follow); // first come, first served
      this.fleet?.claim(session, position, follow);
    }
    return this.continuing(c, session, rule, reason, position + requestAfter, last + 1);
  }

  /**
   * No recent reply matched, but the history may still begin like a live session: its first assistant
   * message is that session's first reply (its anchor). The user went back to an earlier point of that
   * conversation: a count drop when the history is shorter by min_messages or more (however far back),
   * else an edit of a turn the recent replies no longer reach. With several owners (identical openings),
   * the largest drop is reported, so a cut-back is never mistaken for an edit of another conversation.
   */
  private earlierTurn(c: Conversation, partition: string, last: number, lastKey: DigestKey): { session: Session; drop: number; position: number; first: number } | undefined {
    let first = 0;
    while (first < last && c.role(first) !== 'assistant') first++;
    const firstKey = first === last ? lastKey : this.hash(() => this.fingerprints.messageKey(partition, c.message(first)));
    const owners = this.index.anchorOwners(Fingerprinter.derived(firstKey));
    if (owners.length !== 1) {
      // Identical openings: only a drop can be told (a new session either way); an edit would be a guess.
      let found: { session: Session; drop: number; position: number; first: number } | undefined;
      for (const { session, position } of owners) {
        const drop = session.messageCount - (position + 1) - (c.length - (first + 1));
        if (drop >= this.config.min_messages_for_new_session && (!found || drop > found.drop)) found = { session, drop, position, first };
      }
      return found;
    }
    const { session, position } = owners[0];
    return { session, drop: session.messageCount - (position + 1) - (c.length - (first + 1)), position, first };
  }

  /**
   * Several sessions returned this very reply ("OK.", identical openings, batch agents running one prompt).
   * Those whose reply came after the same last three messages are preferred. Among them, a branch nobody
   * has taken yet wins, oldest first (first come, first served: twenty identical runs stay twenty sessions);
   * then the branch this very turn already took (a retry). When every fitting branch was taken by another
   * turn, nothing tells the sessions apart: undefined, and the request starts a session of its own rather
   * than joining someone else's.
   */
  private pick(candidates: Candidate[], c: Conversation, last: number): Candidate | undefined {
    if (candidates.length === 1) return candidates[0];
    const context = this.contextSketch(c, last - 1);
    const sameContext = candidates.filter((candidate) => candidate.prev === context);
    const pool = sameContext.length > 0 ? sameContext : candidates;
    if (pool.length === 1) return pool[0];
    const oldest = (list: Candidate[]) => list.reduce((a, b) => (b.session.createdAt < a.session.createdAt ? b : a));
    const open = pool.filter((candidate) => candidate.followUp === NO_SKETCH);
    if (open.length > 0) return oldest(open);
    const follow = last + 1 < c.length ? sketchValue(c.message(last + 1)) : NO_SKETCH;
    const taken = pool.filter((candidate) => follow !== NO_SKETCH && candidate.followUp === follow);
    return taken.length > 0 ? oldest(taken) : undefined;
  }

  private compactionOwner(c: Conversation, partition: string): { session: Session; at: number } | undefined {
    if (!this.index.hasParagraphs()) return undefined;
    let scanned = 0;
    for (let i = 0; i < c.length && scanned < COMPACTION_SCAN; i++) {
      if (c.role(i) !== 'user') continue;
      scanned++;
      for (const paragraph of paragraphs(spokenText(c.message(i)), PARAGRAPH_MIN, PARAGRAPH_LIMIT)) {
        const owner = this.index.paragraphOwner(this.hash(() => this.fingerprints.keyString(partition, 'paragraph', paragraph)));
        if (owner && this.index.alive(owner)) return { session: owner, at: i };
      }
    }
    return undefined;
  }

  /** Sessions whose latest reply starts like this history's last assistant message, scored on the history. */
  private fuzzyOwner(c: Conversation, partition: string, last: number): { session: Session; similarity: number } | undefined {
    const owners = this.index.looseOwners(this.hash(() => this.fingerprints.key(partition, 'loose', looseForm(c.message(last)))));
    if (owners.length === 0) return undefined;
    const window: number[] = [];
    for (let i = Math.max(0, last + 1 - SKETCH_SIZE); i <= last; i++) window.push(sketchValue(c.message(i)));
    let found: { session: Session; similarity: number } | undefined;
    for (const session of owners) {
      if (Math.abs(last + 1 - session.messageCount) > this.config.fuzzy_max_diff) continue;
      const known = session.sketch;
      const similarity = window.filter((value) => known.includes(String.fromCharCode(value))).length / window.length;
      if (similarity >= this.config.fuzzy_threshold && (!found || similarity > found.similarity)) found = { session, similarity };
    }
    return found;
  }

  /** Joins an existing session, unless the optional context-break rule sees a change of subject. */
  private continuing(c: Conversation, session: Session, rule: SessionRule, reason: string, lastPosition: number, firstNew: number): Verdict {
    this.index.touch(session.key); // marks it used: LRU order and idle TTL
    const topic = session.extra?.topic;
    if (this.config.context_break.enabled && topic) {
      const turn = this.newTurnWords(c, firstNew);
      const overlap = topicOverlap(topic, turn);
      if (overlap < this.config.context_break.threshold) {
        return this.fresh(c, 'context_break', `the new turn shares ${Math.round(overlap * 100)}% of its words with ${session.id}`);
      }
    }
    return { session, isNew: false, rule, reason, lastPosition, firstNew };
  }

  private fresh(c: Conversation, rule: SessionRule, reason: string): Verdict {
    return { isNew: true, rule, reason, lastPosition: c.length - 1, firstNew: 0 };
  }

  private create(id: string, rule: SessionRule, key = id): Session {
    this.counters.totalCreated++;
    return this.index.create(id, rule, key);
  }

  private newTurnWords(c: Conversation, firstNew: number): number[] {
    const words: number[] = [];
    for (let i = firstNew; i < c.length; i++) if (c.role(i) === 'user') words.push(...topicWords(spokenText(c.message(i))));
    return words;
  }

  private join(request: SessionRequest, verdict: Verdict): SessionDecision {
    const c = request.conversation;
    const session = verdict.session ?? (verdict.named ? this.create(verdict.named.id, verdict.rule, verdict.named.key) : this.create(newSessionId(), verdict.rule));
    session.requests++;
    session.lastSeen = this.index.clock();
    const added: number[] = [];
    for (let i = Math.max(verdict.firstNew, c.length - SKETCH_SIZE); i < c.length; i++) added.push(sketchValue(c.message(i)));
    const pending: Pending = {
      session,
      partition: request.partition,
      lastPosition: Math.max(verdict.lastPosition, -1),
      context: this.contextSketch(c, c.length - 1),
      added,
      topic: this.config.context_break.enabled ? this.newTurnWords(c, verdict.firstNew) : null,
    };
    return { sessionId: session.id, isNew: verdict.isNew, rule: verdict.rule, reason: verdict.reason, pending };
  }

  /** Combined sketch of the messages ending at `end` (the context a reply was given in). */
  private contextSketch(c: Conversation, end: number): number {
    const values: number[] = [];
    for (let i = Math.max(0, end - CONTEXT_SIZE + 1); i <= end; i++) values.push(sketchValue(c.message(i)));
    return combineSketches(values);
  }

  private hash<T>(compute: () => T): T {
    const started = performance.now();
    const result = compute();
    this.hashMs += performance.now() - started;
    return result;
  }

  private view(session: Session): SessionView {
    return {
      id: session.id,
      created_at: new Date(this.index.wallTime(session.createdAt)).toISOString(),
      last_seen: new Date(this.index.wallTime(session.lastSeen)).toISOString(),
      messages: session.messageCount,
      requests: session.requests,
      input_tokens: session.inputTokens,
      output_tokens: session.outputTokens,
      rule: session.rule,
    };
  }
}
