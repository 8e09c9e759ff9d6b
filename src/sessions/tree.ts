import { roundUsd } from '../pricing/model-price.js';
import type { TreeTotals } from './types.js';

/**
 * Bounds of a walk down a session tree. Links come from clients (agent headers) and from content, so a
 * tree may be deep, wide or, through a bug or a crafted header, cyclic: a walk must end whatever it finds.
 */
export const TREE_MAX_DEPTH = 32;
export const TREE_MAX_NODES = 1_000;

/** What one session adds to its tree's totals. */
export interface TreeFigures {
  requests: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
}

export interface TreeWalk extends TreeTotals {
  /** The walk stopped at a bound (depth or sessions) with sessions left out: the totals are a lower bound. */
  truncated: boolean;
}

export interface TreeSources {
  /** A session's direct children by key (sub-agent sessions), in the order they should be visited. */
  childrenOf(key: string): readonly string[];
  /** A child's own figures; undefined when it is gone (it is then left out, not counted as truncation). */
  figuresOf(key: string): TreeFigures | undefined;
}

/**
 * Totals over a session and every descendant, breadth first: each session counted once however often it
 * is reached (a cycle or a session listed under two parents), at most `maxDepth` levels below the root and
 * `maxNodes` sessions in all.
 */
export function treeTotals(root: string, rootFigures: TreeFigures, sources: TreeSources, maxDepth = TREE_MAX_DEPTH, maxNodes = TREE_MAX_NODES): TreeWalk {
  const totals: TreeWalk = { sessions: 1, ...rootFigures, truncated: false };
  const seen = new Set([root]);
  let level = [root];
  for (let depth = 1; level.length > 0; depth++) {
    const next: string[] = [];
    for (const parent of level) {
      for (const child of sources.childrenOf(parent)) {
        if (seen.has(child)) continue;
        const figures = sources.figuresOf(child);
        if (!figures) continue;
        if (depth > maxDepth || totals.sessions >= maxNodes) {
          totals.truncated = true;
          return rounded(totals);
        }
        seen.add(child);
        totals.sessions++;
        totals.requests += figures.requests;
        totals.input_tokens += figures.input_tokens;
        totals.output_tokens += figures.output_tokens;
        totals.cost_usd += figures.cost_usd;
        next.push(child);
      }
    }
    level = next;
  }
  return rounded(totals);
}

function rounded(totals: TreeWalk): TreeWalk {
  totals.cost_usd = roundUsd(totals.cost_usd);
  return totals;
}
