import type { DigestKey } from './fingerprint.js';
import { NO_SKETCH } from './fingerprint.js';
import type { Session, SessionIndex } from './session-index.js';
import { copyState } from './store/copy-state.js';
import type { SessionState, SessionWrite, StoredSession } from './store/types.js';
import { KEEP_RESPONSES } from './engine-parts.js';

/** 64-bit digest key as 16 hex digits: how stores see reply, anchor and loose-form keys. */
export const digestHex = (key: DigestKey) => key.hi.toString(16).padStart(8, '0') + key.lo.toString(16).padStart(8, '0');
const hexDigest = (hex: string): DigestKey => ({ hi: parseInt(hex.slice(0, 8), 16) >>> 0, lo: parseInt(hex.slice(8, 16), 16) >>> 0 });
/** The engine's short binary key strings (paragraphs, response ids) as hex, and back. */
export const stringHex = (key: string) => Buffer.from(key, 'latin1').toString('hex');
const hexString = (hex: string) => Buffer.from(hex, 'hex').toString('latin1');

/**
 * The shareable state of each local session (what a store keeps), kept beside the session while a store
 * is attached: the typed index cannot list a session's own keys, so they are remembered here as they are
 * recorded. Hydration goes the other way: a session found in the store is rebuilt in the local index, in
 * place when it is already known (requests in flight keep their reference to it).
 */
export class FleetState {
  private readonly states = new WeakMap<Session, SessionState>();

  constructor(
    private readonly index: SessionIndex,
    private readonly keepReplies: number,
  ) {}

  /** The session's state, created on first use. */
  of(session: Session): SessionState {
    let state = this.states.get(session);
    if (!state) {
      state = {
        id: session.id,
        key: session.key,
        rule: session.rule,
        createdAt: this.index.wallTime(session.createdAt),
        messageCount: 0,
        latestPosition: -1,
        sketch: [],
        replies: [],
        anchor: null,
        loose: null,
        paragraphs: [],
        responses: [],
        topic: null,
      };
      this.states.set(session, state);
    }
    return state;
  }

  addReplies(session: Session, keys: DigestKey[], position: number, prev: number): void {
    const replies = this.of(session).replies;
    replies.push({ keys: keys.map(digestHex), position, prev, followUp: NO_SKETCH });
    if (replies.length > this.keepReplies) replies.splice(0, replies.length - this.keepReplies);
  }

  setAnchor(session: Session, key: DigestKey, position: number): void {
    this.of(session).anchor = { key: digestHex(key), position };
  }

  claim(session: Session, position: number, followUp: number): void {
    const reply = this.states.get(session)?.replies.find((r) => r.position === position);
    if (reply) reply.followUp = followUp;
  }

  /** The write for one finished exchange: the full state, and what it adds to the fleet's counters. */
  write(
    session: Session,
    loose: DigestKey | null,
    paragraphs: string[],
    responses: string[],
    tokens: { input: number; output: number; costUsd: number },
  ): SessionWrite {
    const state = this.of(session);
    state.messageCount = session.messageCount;
    state.latestPosition = session.latestPosition;
    // By UTF-16 unit, not by code point: two sketch values may happen to form a surrogate pair.
    state.sketch = [];
    for (let i = 0; i < session.sketch.length; i++) state.sketch.push(session.sketch.charCodeAt(i));
    state.loose = loose ? digestHex(loose) : null;
    state.paragraphs = paragraphs.map(stringHex);
    state.responses = responses.map(stringHex);
    state.topic = session.extra?.topic ?? null;
    state.parent = session.parent;
    return {
      state: copyState(state),
      lastSeen: this.index.wallTime(session.lastSeen),
      delta: { requests: 1, inputTokens: tokens.input, outputTokens: tokens.output, costUsd: tokens.costUsd },
    };
  }

  /** Rebuilds a stored session in the local index (replacing what this gateway knew of it); returns it. */
  hydrate(stored: StoredSession): Session {
    const { state } = stored;
    const session = this.index.reload(state.key) ?? this.index.create(state.id, state.rule, state.key, state.createdAt - this.index.wallTime(0));
    session.requests = stored.requests;
    session.inputTokens = stored.inputTokens;
    session.outputTokens = stored.outputTokens;
    session.costUsd = stored.costUsd ?? 0;
    session.messageCount = state.messageCount;
    session.lastSeen = Math.max(session.lastSeen, stored.lastSeen - this.index.wallTime(0));
    session.sketch = String.fromCharCode(...state.sketch);
    for (const reply of state.replies) this.index.addReplies(session, reply.keys.map(hexDigest), reply.position, reply.prev, reply.followUp);
    session.latestPosition = state.latestPosition;
    if (state.anchor) this.index.setAnchor(session, hexDigest(state.anchor.key), state.anchor.position);
    if (state.loose) this.index.setLoose(session, hexDigest(state.loose));
    this.index.setParagraphs(session, state.paragraphs.map(hexString));
    for (const key of state.responses) this.index.addResponse(session, hexString(key), KEEP_RESPONSES);
    if (state.topic) session.extras().topic = state.topic;
    if (state.parent) session.parent = state.parent;
    this.states.set(session, copyState(state));
    return session;
  }
}
