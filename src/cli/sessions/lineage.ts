// Session trees from trace files, for `sessions show`: every session of the directory reduced to a few
// numbers and its parent (trace files name it in `parent_session_id`), so one session's parent, its
// sub-agents and the totals of everything below it can be shown. Workers tally their batch; the main thread
// merges the tallies, one small entry per session whatever the number of files.

import { TREE_MAX_DEPTH, TREE_MAX_NODES, treeTotals, type TreeFigures, type TreeWalk } from '../../sessions/tree.js';
import { formatCost } from './format.js';
import type { TraceSummary } from './trace-summary.js';

export interface SessionTally {
  sessionId: string;
  /** The parent the latest trace naming one gives (ties: the larger id), as SessionStats keeps it. */
  parentSessionId: string | null;
  parentAt: number;
  first: number;
  requests: number;
  inputTokens: number;
  outputTokens: number;
  /** Whole nano-dollars, so sums do not depend on the order of the files. */
  costNanos: number;
  priced: number;
}

function mergeParent(into: SessionTally, parent: string | null, at: number): void {
  if (parent === null) return;
  if (at > into.parentAt || (at === into.parentAt && parent > (into.parentSessionId ?? ''))) [into.parentSessionId, into.parentAt] = [parent, at];
}

/** Adds one trace to the tallies of its batch (traces without a session belong to no tree). */
export function tallySummary(tallies: Map<string, SessionTally>, summary: TraceSummary): void {
  if (summary.sessionId === null) return;
  let tally = tallies.get(summary.sessionId);
  if (!tally) {
    tally = {
      sessionId: summary.sessionId,
      parentSessionId: null,
      parentAt: -Infinity,
      first: summary.timestamp,
      requests: 0,
      inputTokens: 0,
      outputTokens: 0,
      costNanos: 0,
      priced: 0,
    };
    tallies.set(summary.sessionId, tally);
  }
  tally.requests++;
  tally.first = Math.min(tally.first, summary.timestamp);
  tally.inputTokens += summary.inputTokens;
  tally.outputTokens += summary.outputTokens;
  if (summary.costUsd !== null) {
    tally.priced++;
    tally.costNanos += Math.round(summary.costUsd * 1e9);
  }
  mergeParent(tally, summary.parentSessionId, summary.timestamp);
}

/** Every session's tally, merged from the batches, and the sessions under each parent. */
export class SessionForest {
  private readonly tallies = new Map<string, SessionTally>();
  private children: Map<string, string[]> | null = null;

  add(tally: SessionTally): void {
    this.children = null;
    const known = this.tallies.get(tally.sessionId);
    if (!known) {
      this.tallies.set(tally.sessionId, { ...tally });
      return;
    }
    known.requests += tally.requests;
    known.first = Math.min(known.first, tally.first);
    known.inputTokens += tally.inputTokens;
    known.outputTokens += tally.outputTokens;
    known.costNanos += tally.costNanos;
    known.priced += tally.priced;
    mergeParent(known, tally.parentSessionId, tally.parentAt);
  }

  get(id: string): SessionTally | undefined {
    return this.tallies.get(id);
  }

  /** A session's sub-agents, oldest first (ties: by id). */
  childrenOf(id: string): readonly string[] {
    if (!this.children) {
      const children = new Map<string, SessionTally[]>();
      for (const tally of this.tallies.values()) {
        if (tally.parentSessionId === null || tally.parentSessionId === tally.sessionId) continue;
        const siblings = children.get(tally.parentSessionId);
        if (siblings) siblings.push(tally);
        else children.set(tally.parentSessionId, [tally]);
      }
      this.children = new Map(
        [...children].map(([parent, list]) => [
          parent,
          list.sort((a, b) => a.first - b.first || a.sessionId.localeCompare(b.sessionId)).map((t) => t.sessionId),
        ]),
      );
    }
    return this.children.get(id) ?? [];
  }

  figures(id: string): TreeFigures | undefined {
    const tally = this.tallies.get(id);
    return tally && { requests: tally.requests, input_tokens: tally.inputTokens, output_tokens: tally.outputTokens, cost_usd: tally.costNanos / 1e9 };
  }

  tree(id: string): TreeWalk | undefined {
    const own = this.figures(id);
    return own && treeTotals(id, own, { childrenOf: (key) => this.childrenOf(key), figuresOf: (key) => this.figures(key) });
  }
}

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;

function describe(tally: SessionTally): string {
  const cost = formatCost(tally.priced > 0 ? tally.costNanos / 1e9 : null);
  return `${plural(tally.requests, 'request')}, tokens ${tally.inputTokens} in / ${tally.outputTokens} out, cost ${cost}`;
}

/**
 * The lines `sessions show` prints about a session's place in its tree: its parent, the tree's totals and
 * the tree itself (the session, then its sub-agents indented under it, each with its own figures), walked
 * within the same bounds as the sessions API. Empty for a session with neither a parent nor sub-agents.
 */
export function renderLineage(forest: SessionForest, id: string): string[] {
  const tally = forest.get(id);
  const tree = forest.tree(id);
  if (!tally || !tree) return [];
  const lines: string[] = [];
  if (tally.parentSessionId !== null) {
    const parent = forest.get(tally.parentSessionId);
    lines.push(`parent: ${tally.parentSessionId} (${parent ? describe(parent) : 'no traces'})`);
  }
  if (forest.childrenOf(id).length === 0) return lines;
  // Depth first, so each sub-agent sits under its parent; the same bounds and cycle guard as the totals.
  const nodes: string[] = [];
  const seen = new Set<string>();
  let priced = false;
  const visit = (key: string, depth: number) => {
    if (seen.has(key) || seen.size >= TREE_MAX_NODES || depth > TREE_MAX_DEPTH) return;
    const node = forest.get(key);
    if (!node) return;
    seen.add(key);
    priced ||= node.priced > 0;
    nodes.push(`  ${depth === 0 ? '' : `${'   '.repeat(depth - 1)}└─ `}${key}  ${describe(node)}`);
    for (const child of forest.childrenOf(key)) visit(child, depth + 1);
  };
  visit(id, 0);
  // Like a session's cost: `-` when nothing in the tree was priced, rather than a misleading $0.
  const cost = formatCost(priced ? tree.cost_usd : null);
  lines.push(
    `tree: ${plural(tree.sessions, 'session')}, ${plural(tree.requests, 'request')}, tokens ${tree.input_tokens} in / ${tree.output_tokens} out, cost ${cost}` +
      (tree.truncated ? ` (cut at ${TREE_MAX_DEPTH} levels or ${TREE_MAX_NODES} sessions: the rest is left out)` : ''),
    ...nodes,
  );
  return lines;
}
