import { LRUCache } from 'lru-cache';
import type { CanonicalMessage, Conversation } from '../../conversation/canonical.js';
import { segmentsOf, spokenText, TOOL_MARK } from '../../conversation/segments.js';
import type { EngineParts } from '../engine-parts.js';
import { words } from '../fingerprint.js';
import { namedKey, partitionTag } from '../identity.js';
import type { Session } from '../session-index.js';
import type { ParentLink, SessionRequest } from '../types.js';
import { DelegationIndex, type DelegationEntry } from './delegation-index.js';
import { delegationsOf } from './delegations.js';
import { forEachWindow, HEAD_WORDS, windowHash } from './word-windows.js';

/** Sub-agent sessions remembered per parent (a parent with more keeps its first ones, counted). */
export const MAX_CHILDREN = 256;
/** Tool calls per parent whose sub-agent's answer is awaited for confirmation. */
const MAX_AWAITED = 64;
/** User messages at the start of a new conversation searched for a delegated task. */
const FIRST_USER_MESSAGES = 2;
/** Words of a first user message searched (a task handed over is at most MAX_WORDS long anyway). */
const SCAN_WORDS = 20_000;
/** Words of a sub-agent's answer that must come back in the parent's tool result to confirm a link. */
const ANSWER_WORDS = 200;
/** Sessions remembered per client trace id (the first ones), and trace ids remembered in all. */
const SESSIONS_PER_TRACE = 8;
const MAX_TRACES = 20_000;

export interface LineageOptions {
  /** Delegations remembered at most, and for how long (ms). */
  maxDelegations: number;
  delegationTtlMs: number;
  now: () => number;
}

/** What lineage counts, for `/metrics` (`sessions.lineage`). */
export interface LineageFigures {
  links_tool_call: number;
  links_explicit: number;
  links_trace: number;
  links_confirmed: number;
  /** Links made by content or trace whose sub-agent's answer has not (yet) come back in the parent's tool result. */
  links_unconfirmed: number;
  delegations_indexed: number;
  delegations_live: number;
  delegations_evicted: number;
  children_dropped: number;
}

/** A sub-agent's latest answer, as its parent's tool result must carry it. */
interface Answer {
  head: number;
  length: number;
  digest: string;
  /** The answer's words when shorter than a window (compared whole). */
  short: string | null;
}

/**
 * Session lineage: which session a sub-agent session belongs to. Explicit when the client says so (agent
 * headers, `Helicone-Session-Path`); otherwise by content: a reply's delegating tool call (delegations.ts)
 * is remembered, and a new conversation of the same partition whose first user message contains the whole
 * delegated text is its sub-agent. The link is confirmed when the sub-agent's latest answer comes back in
 * the parent's tool result for that call. Never a guess: the full argument must be found word for word
 * (a look-alike task does not link), within one partition, and only while the delegation is recent.
 */
export class Lineage {
  private readonly delegations: DelegationIndex;
  private readonly answers = new WeakMap<Session, Answer>();
  private readonly awaited = new WeakMap<Session, Map<string, string>>();
  /** Sessions whose latest reply called a tool: they may be running a sub-agent now. */
  private readonly awaitingTool = new WeakSet<Session>();
  /** Sessions by the client trace they were seen in (partition tag and trace id). */
  private readonly traces: LRUCache<string, string[]>;
  private readonly figures = { links_tool_call: 0, links_explicit: 0, links_trace: 0, links_confirmed: 0, delegations_indexed: 0, children_dropped: 0 };

  constructor(
    private readonly parts: EngineParts,
    options: LineageOptions,
  ) {
    this.delegations = new DelegationIndex(options.maxDelegations, options.delegationTtlMs, options.now);
    this.traces = new LRUCache({ max: MAX_TRACES, ttl: options.delegationTtlMs, perf: { now: options.now }, ttlResolution: 0 });
  }

  /** After a new session was created: its parent, if the client named one or its first message was delegated. */
  placeNew(session: Session, request: SessionRequest): void {
    if (request.explicitParentId) {
      const tag = this.parts.hash(() => partitionTag(this.parts.fingerprints, request.partition));
      const key = namedKey(request.explicitParentId, tag);
      if (key !== session.key) {
        this.link(session, { id: request.explicitParentId, key, source: 'explicit', confirmed: true });
        this.figures.links_explicit++;
      }
      return;
    }
    const found = this.delegations.size > 0 ? this.delegatedFrom(request.conversation, request.partition, session.key) : undefined;
    if (!found) {
      if (request.traceId) this.placeByTrace(session, request.partition, request.traceId);
      return;
    }
    const parent = this.parts.index.peek(found.parentKey);
    this.link(session, { id: found.parentId, key: found.parentKey, source: 'tool_call', confirmed: false });
    this.figures.links_tool_call++;
    if (parent) this.await(parent, found.callId, session.key);
  }

  /** A request of a session that delegated: tool results that carry a sub-agent's answer confirm its link. */
  confirm(session: Session, c: Conversation, firstNew: number, partition: string): void {
    const awaited = this.awaited.get(session);
    if (!awaited || awaited.size === 0) return;
    for (let i = Math.max(0, firstNew); i < c.length; i++) {
      const message = c.message(i);
      if (!message.text.includes(TOOL_MARK)) continue;
      for (const segment of segmentsOf(message)) {
        if (segment.kind !== 'result') continue;
        // The child started for this call, then children linked by trace (their call is unknown).
        const callIds = [...awaited.keys()].filter((id) => id === segment.id || id.startsWith('*'));
        if (callIds.length === 0) continue;
        const resultWords = words(segment.content, SCAN_WORDS); // read once, whatever the number of candidates
        for (const callId of callIds) {
          const child = this.parts.index.peek(awaited.get(callId)!);
          const answer = child && this.answers.get(child);
          if (!child?.parent || !answer || !this.carries(resultWords, answer, partition)) continue;
          awaited.delete(callId);
          child.parent.confirmed = true;
          this.figures.links_confirmed++;
          break;
        }
      }
    }
  }

  /** Every request with a client trace: its session is filed under the trace (after placeNew looked there). */
  observeTrace(session: Session, partition: string, traceId: string | undefined): void {
    if (!traceId) return;
    const key = this.traceKey(partition, traceId);
    const sessions = this.traces.get(key);
    if (!sessions) this.traces.set(key, [session.key]);
    else if (!sessions.includes(session.key) && sessions.length < SESSIONS_PER_TRACE) sessions.push(session.key);
  }

  /** After a reply was recorded: remember its delegations, and a sub-agent's answer until its link is confirmed. */
  onReply(session: Session, partition: string, replies: CanonicalMessage[]): void {
    if (replies.some((message) => message.text.includes(TOOL_MARK) && segmentsOf(message).some((s) => s.kind === 'call'))) this.awaitingTool.add(session);
    else this.awaitingTool.delete(session);
    const parent = session.parent;
    if (parent && !parent.confirmed && replies[0]) {
      const answerWords = words(spokenText(replies[0]), ANSWER_WORDS);
      if (answerWords.length > 0) {
        const text = answerWords.join(' ');
        this.answers.set(session, {
          head: answerWords.length >= HEAD_WORDS ? windowHash(answerWords) : 0,
          length: answerWords.length,
          digest: this.parts.hash(() => this.parts.fingerprints.keyString(partition, 'answer', text)),
          short: answerWords.length < HEAD_WORDS ? text : null,
        });
      }
    }
    const found = delegationsOf(replies);
    if (found.length === 0) return;
    const tag = this.parts.hash(() => partitionTag(this.parts.fingerprints, partition)).small;
    for (const delegation of found) {
      const digest = this.parts.hash(() => this.parts.fingerprints.keyString(partition, 'delegation', delegation.words.join(' ')));
      this.delegations.add(tag, delegation, {
        parentKey: session.key,
        parentId: session.id,
        callId: delegation.callId,
        length: delegation.words.length,
        digest,
      });
      this.figures.delegations_indexed++;
    }
  }

  children(key: string): string[] {
    const session = this.parts.index.peek(key);
    return (session?.extra?.children ?? []).filter((child) => this.parts.index.peek(child) !== undefined);
  }

  metrics(): LineageFigures {
    const f = this.figures;
    return {
      ...f,
      links_unconfirmed: f.links_tool_call + f.links_trace - f.links_confirmed,
      delegations_live: this.delegations.size,
      delegations_evicted: this.delegations.evicted,
    };
  }

  clear(): void {
    this.delegations.clear();
    this.traces.clear();
  }

  /**
   * A new session in the trace of exactly one other session that is waiting on a tool call: the agent runs a
   * sub-agent inside that call. With two or more such sessions in the trace (parallel or nested sub-agents),
   * the trace alone cannot tell which is the parent, so it links nothing.
   */
  private placeByTrace(session: Session, partition: string, traceId: string): void {
    const sessions = this.traces.get(this.traceKey(partition, traceId));
    if (!sessions) return;
    let parent: Session | undefined;
    for (const key of sessions) {
      const candidate = key === session.key ? undefined : this.parts.index.peek(key);
      if (!candidate || !this.awaitingTool.has(candidate)) continue;
      if (parent) return; // ambiguous
      parent = candidate;
    }
    if (!parent) return;
    this.link(session, { id: parent.id, key: parent.key, source: 'trace', confirmed: false });
    this.figures.links_trace++;
    // Which tool call runs it is unknown: any tool result of the parent that carries its answer confirms it.
    this.await(parent, `*${session.key}`, session.key);
  }

  private await(parent: Session, callId: string, childKey: string): void {
    let awaited = this.awaited.get(parent);
    if (!awaited) this.awaited.set(parent, (awaited = new Map()));
    // Full (children whose answers never came back): the oldest wait gives way to the newest.
    if (awaited.size >= MAX_AWAITED) awaited.delete(awaited.keys().next().value!);
    awaited.set(callId, childKey);
  }

  private traceKey(partition: string, traceId: string): string {
    return `${this.parts.hash(() => partitionTag(this.parts.fingerprints, partition)).small}:${traceId}`;
  }

  /** Sets a session's parent and files it under the parent (also for a link another gateway made: shared store). */
  link(session: Session, parent: ParentLink): void {
    session.parent = parent;
    this.addChild(parent.key, session.key);
  }

  private addChild(parentKey: string, childKey: string): void {
    const parent = this.parts.index.peek(parentKey);
    if (!parent) return;
    let children = (parent.extras().children ??= []);
    if (children.includes(childKey)) return;
    // Full: children that have ended make room before a live one is refused.
    if (children.length >= MAX_CHILDREN) children = parent.extras().children = children.filter((key) => this.parts.index.peek(key) !== undefined);
    if (children.length >= MAX_CHILDREN) this.figures.children_dropped++;
    else children.push(childKey);
  }

  /** The delegation whose whole text one of the conversation's first user messages contains. */
  private delegatedFrom(c: Conversation, partition: string, ownKey: string): DelegationEntry | undefined {
    let tag: number | undefined;
    let seen = 0;
    for (let i = 0; i < c.length && seen < FIRST_USER_MESSAGES; i++) {
      if (c.role(i) !== 'user') continue;
      seen++;
      const messageWords = words(spokenText(c.message(i)), SCAN_WORDS);
      if (messageWords.length < HEAD_WORDS) continue;
      tag ??= this.parts.hash(() => partitionTag(this.parts.fingerprints, partition)).small;
      let found: DelegationEntry | undefined;
      const partitionTagValue = tag;
      forEachWindow(messageWords, (head, start) => {
        const candidates = this.delegations.candidates(partitionTagValue, head);
        if (!candidates) return false;
        for (let k = candidates.length - 1; k >= 0; k--) {
          const entry = candidates[k];
          if (entry.parentKey === ownKey || start + entry.length > messageWords.length) continue;
          const text = messageWords.slice(start, start + entry.length).join(' ');
          if (this.parts.hash(() => this.parts.fingerprints.keyString(partition, 'delegation', text)) === entry.digest) {
            found = entry;
            return true;
          }
        }
        return false;
      });
      if (found) return found;
    }
    return undefined;
  }

  /** Whether a tool result carries the sub-agent's answer (its first words, whole, anywhere in it). */
  private carries(resultWords: string[], answer: Answer, partition: string): boolean {
    if (answer.short !== null) return ` ${resultWords.join(' ')} `.includes(` ${answer.short} `);
    let found = false;
    forEachWindow(resultWords, (head, start) => {
      if (head !== answer.head || start + answer.length > resultWords.length) return false;
      // Keyed by partition: the child's, which is the parent's (links never cross partitions).
      const text = resultWords.slice(start, start + answer.length).join(' ');
      found = this.parts.hash(() => this.parts.fingerprints.keyString(partition, 'answer', text)) === answer.digest;
      return found;
    });
    return found;
  }
}
