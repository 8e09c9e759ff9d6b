import { LIST_CAP } from '../sessions/queries.js';
import type { RequestRow } from '../sessions/store/postgres-records.js';
import { treeTotals, type TreeFigures, type TreeWalk } from '../sessions/tree.js';
import type { SessionEngine, SessionView } from '../sessions/types.js';

/** Where a session sits among its sub-agents, as `GET /sessions/:id` shows it. */
export interface SessionLineage {
  /** The admin identity of the session this one is a sub-agent of; null for a root. */
  parent_session_id: string | null;
  /** Admin identities of its live sub-agent sessions, oldest first. */
  children: string[];
  /** Totals over the session and every live descendant. */
  tree: TreeWalk;
}

const figuresOf = (view: SessionView): TreeFigures => ({
  requests: view.requests,
  input_tokens: view.input_tokens,
  output_tokens: view.output_tokens,
  cost_usd: view.cost_usd,
});

/** An ended session's own figures, from the requests recorded of it. */
function recordedFigures(requests: RequestRow[]): TreeFigures {
  const figures: TreeFigures = { requests: requests.length, input_tokens: 0, output_tokens: 0, cost_usd: 0 };
  for (const row of requests) {
    figures.input_tokens += row.input_tokens ?? 0;
    figures.output_tokens += row.output_tokens ?? 0;
    figures.cost_usd += row.cost_usd ?? 0;
  }
  return figures;
}

const byCreation = (a: SessionView, b: SessionView) => a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id);

/**
 * A session's parent, children and tree totals. This gateway knows the children it linked itself
 * (`children`); with a shared store, sub-agents linked by other gateways are found among the stored sessions
 * (one read of the listing, capped like the sessions list), by the parent their state names. Only live
 * sessions are children; an ended session still shows its parent (from its recorded requests) and the live
 * sub-agents it left.
 */
export async function sessionLineage(
  sessions: SessionEngine,
  shared: boolean,
  key: string,
  session: SessionView | null,
  requests: RequestRow[],
): Promise<SessionLineage> {
  const stored = new Map<string, SessionView>();
  const storedChildren = new Map<string, string[]>();
  if (shared) {
    const { sessions: all } = await sessions.list({ limit: LIST_CAP, offset: 0, sort: 'created', order: 'asc' });
    for (const view of all) {
      stored.set(view.id, view);
      if (view.parent_session_id === null) continue;
      const siblings = storedChildren.get(view.parent_session_id);
      if (siblings) siblings.push(view.id);
      else storedChildren.set(view.parent_session_id, [view.id]);
    }
  }
  const viewOf = (child: string) => sessions.get(child) ?? stored.get(child);
  const childrenOf = (parent: string): string[] => {
    const local = sessions.children(parent);
    const remote = storedChildren.get(parent);
    if (!remote) return local;
    const views = [...new Set([...local, ...remote])].flatMap((child) => viewOf(child) ?? []);
    return views.sort(byCreation).map((view) => view.id);
  };
  const children = childrenOf(key);
  const tree = treeTotals(key, session ? figuresOf(session) : recordedFigures(requests), {
    childrenOf,
    figuresOf: (child) => {
      const view = viewOf(child);
      return view && figuresOf(view);
    },
  });
  const parent = session ? session.parent_session_id : (requests.at(-1)?.parent_session_id ?? null);
  return { parent_session_id: parent, children, tree };
}
