import type { Session, SessionIndex } from './session-index.js';
import type { StoreLink } from './store/store-link.js';
import type { StoredSession } from './store/types.js';
import type { SessionQuery, SessionView } from './types.js';

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

/**
 * What the sessions API asks of the engine: list, find and end live sessions, this gateway's or (with a
 * shared store) the fleet's. Reads never mark a session used, so looking at a session does not keep it alive.
 */
export class SessionQueries {
  constructor(
    private readonly index: SessionIndex,
    private readonly store: StoreLink | null,
    private readonly now: () => number,
  ) {}

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

  end(id: string): boolean {
    const ended = this.index.delete(id);
    this.store?.delete(id); // other gateways may know it even when this one does not
    return ended;
  }

  /** Live local sessions a client named `id` (one per partition that used the name). */
  private named(id: string): Session[] {
    const out: Session[] = [];
    for (const session of this.index.values()) if (session.id === id && session.key !== id) out.push(session);
    return out;
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
