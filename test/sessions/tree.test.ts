// Tree totals over sub-agent sessions: every session once, however links loop, within depth and size bounds.
import { describe, expect, it } from 'vitest';
import { treeTotals, TREE_MAX_NODES, type TreeFigures } from '../../src/sessions/tree.js';

const one: TreeFigures = { requests: 2, input_tokens: 10, output_tokens: 5, cost_usd: 0.1 };

/** Sources over a literal adjacency list; sessions not listed in `gone` have `one` as figures. */
function sources(children: Record<string, string[]>, gone: string[] = []) {
  return { childrenOf: (key: string) => children[key] ?? [], figuresOf: (key: string) => (gone.includes(key) ? undefined : one) };
}

describe('tree totals', () => {
  it('add every descendant once, rounding the cost like the sessions API', () => {
    const totals = treeTotals('r', one, sources({ r: ['a', 'b'], a: ['c'], b: ['c'] }));
    expect(totals).toEqual({ sessions: 4, requests: 8, input_tokens: 40, output_tokens: 20, cost_usd: 0.4, truncated: false });
  });

  it('end on a cycle without counting a session twice, and leave gone sessions out', () => {
    expect(treeTotals('r', one, sources({ r: ['a'], a: ['b'], b: ['r', 'a'] }))).toMatchObject({ sessions: 3, truncated: false });
    expect(treeTotals('r', one, sources({ r: ['r'] }))).toMatchObject({ sessions: 1, truncated: false });
    expect(treeTotals('r', one, sources({ r: ['a', 'gone'], gone: ['b'] }, ['gone']))).toMatchObject({ sessions: 2, truncated: false });
  });

  it('stop at the depth and size bounds and say so', () => {
    const chain: Record<string, string[]> = {};
    for (let i = 0; i < 10; i++) chain[`n${i}`] = [`n${i + 1}`];
    expect(treeTotals('n0', one, sources(chain), 3)).toMatchObject({ sessions: 4, requests: 8, truncated: true });
    expect(treeTotals('n7', one, sources(chain), 3)).toMatchObject({ sessions: 4, truncated: false });

    const wide = { r: Array.from({ length: TREE_MAX_NODES + 5 }, (_, i) => `c${i}`) };
    expect(treeTotals('r', one, sources(wide))).toMatchObject({ sessions: TREE_MAX_NODES, truncated: true });
    expect(treeTotals('r', one, sources({ r: ['a', 'b'] }), 32, 3)).toMatchObject({ sessions: 3, truncated: false });
  });
});
