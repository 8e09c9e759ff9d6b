import type { Session, SessionIndex } from './session-index.js';
import { roundUsd } from '../pricing/model-price.js';
import type { StoreLink } from './store/store-link.js';
import type { StoredSession } from './store/types.js';
import { isBareName } from './identity.js';
import type { SessionLookup, SessionQuery, SessionView } from './types.js';

/** Sessions the sessions API reads from a shared store at most per call (it sorts and pages them itself). */
export const LIST_CAP = 10_000;

const sortKeys: Record<SessionQuery['sort'], (view: SessionView) => number> = {
  last_seen: (v) => Date.parse(v.last_seen),
  created: (v) => Date.parse(v.created_at),
  requests: (v) => v.requests,
  tokens: (v) => v.input_tokens + v.output_tokens,
  messages: (v) => v.messages,
  cost: (v) => v.cost_usd,
};

/** A session as a shared store holds it, in the API's shape. */
function storedView(stored: StoredSession): SessionView {
  return {
    id: stored.state.key,
    name: stored.state.id,
    created_at: new Date(stored.state.createdAt).toISOString(),
    last_seen: new Date(stored.lastSeen).toISOString(),
    messages: stored.state.messageCount,
    requests: stored.requests,
    input_tokens: stored.inputTokens,
    output_tokens: stored.outputTokens,
    cost_usd: roundUsd(stored.costUsd ?? 0),
    rule: stored.state.rule,
    parent_session_id: stored.state.parent?.key ?? null,
  };
}

/**
 * What the sessions API asks of the engine: list, find and end live sessions, this gateway's or (with a
 * shared store) the fleet's. Sessions are addressed by their admin identity (identity.ts); a bare name is
 * accepted when exactly one live session bears it, since several partitions may use one name and picking
 * one of them (or ending all) would act on a session the caller did not mean. Reads never mark a session
 * used, so looking at a session does not keep it alive.
 */
export class SessionQueries {
  constructor(
    private readonly index: SessionIndex,
    private readonly store: StoreLink | null,
    private readonly now: () => number,
  ) {}

  get(key: string): SessionView | undefined {
    const session = this.index.peek(key);
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
      (v) =>
        (!query.rule || v.rule === query.rule) &&
        (!query.q || v.id.includes(query.q)) &&
        (!query.activeWithinMs || now - Date.parse(v.last_seen) <= query.activeWithinMs) &&
        (!query.rootOnly || v.parent_session_id === null),
    );
    const key = sortKeys[query.sort];
    const direction = query.order === 'asc' ? 1 : -1;
    matching.sort((a, b) => direction * (key(a) - key(b)) || a.id.localeCompare(b.id));
    return { sessions: matching.slice(query.offset, query.offset + query.limit), total: matching.length };
  }

  async find(id: string): Promise<SessionLookup> {
    if (!isBareName(id)) {
      const session = this.get(id) ?? (this.store && (await this.byKey(id)));
      return session ? { kind: 'one', session } : { kind: 'none' };
    }
    const views = await this.named(id);
    if (views.length === 1) return { kind: 'one', session: views[0] };
    return views.length === 0 ? { kind: 'none' } : { kind: 'ambiguous', ids: views.map((view) => view.id).sort() };
  }

  async endSession(id: string): Promise<SessionLookup> {
    const found = await this.find(id);
    if (found.kind !== 'one') return found;
    const key = found.session.id;
    const local = this.index.delete(key);
    const stored = this.store ? await this.store.remove(key) : false;
    return local || stored ? found : { kind: 'none' }; // gone meanwhile
  }

  end(key: string): boolean {
    const ended = this.index.delete(key);
    this.store?.delete(key); // other gateways may know it even when this one does not
    return ended;
  }

  private async byKey(key: string): Promise<SessionView | undefined> {
    const stored = await this.store?.get(key);
    return stored ? storedView(stored) : undefined;
  }

  /** Live sessions a client named `name`, one per partition that used it: this gateway's, then the store's. */
  private async named(name: string): Promise<SessionView[]> {
    const views = new Map<string, SessionView>();
    for (const session of this.index.values()) if (session.id === name && session.key !== name) views.set(session.key, this.view(session));
    if (this.store)
      for (const stored of await this.store.list(LIST_CAP))
        if (stored.state.id === name && !views.has(stored.state.key)) views.set(stored.state.key, storedView(stored));
    return [...views.values()];
  }

  private view(session: Session): SessionView {
    return {
      id: session.key,
      name: session.id,
      created_at: new Date(this.index.wallTime(session.createdAt)).toISOString(),
      last_seen: new Date(this.index.wallTime(session.lastSeen)).toISOString(),
      messages: session.messageCount,
      requests: session.requests,
      input_tokens: session.inputTokens,
      output_tokens: session.outputTokens,
      cost_usd: roundUsd(session.costUsd),
      rule: session.rule,
      parent_session_id: session.parent?.key ?? null,
    };
  }
}
