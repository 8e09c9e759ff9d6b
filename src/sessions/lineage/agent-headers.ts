import { sanitiseExplicitId } from '../ids.js';

type Headers = Record<string, string | string[] | undefined>;

const header = (headers: Headers, name: string): string | undefined => {
  const value = headers[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
};

/** A path of agent names (`/root/explorer/reader`, `/a/b`) as name parts, empty for the root. */
function pathParts(path: string, root?: string): string[] {
  const parts = path.split('/').filter((part) => part !== '');
  if (root && parts[0] === root) parts.shift();
  return parts;
}

/** The session names of a sub-agent path under a run's name: the child's and its parent's. */
function nested(run: string, parts: string[]): { explicitId: string; explicitParentId: string } | undefined {
  if (parts.length === 0) return undefined;
  const child = sanitiseExplicitId([run, ...parts].join(':'));
  const parent = sanitiseExplicitId([run, ...parts.slice(0, -1)].join(':'));
  return child && parent && child !== parent ? { explicitId: child, explicitParentId: parent } : undefined;
}

/**
 * Lineage that clients state themselves, read from the headers agents and SDKs already send. A named run
 * keeps its name; its sub-agents become sessions of their own, named after the run and the agent, with the
 * run (or the agent above them) as parent:
 * - Claude Code: every request carries the run's `x-claude-code-session-id` (the session name); a
 *   sub-agent's add `x-claude-code-agent-id`: `<run>:agent-<id>`, parent `<run>`.
 * - Codex CLI: `x-codex-turn-metadata` (JSON) names the agent as a path from `/root`: `/root/worker` is
 *   `<run>:worker`, parent `<run>`; the main agent (`/root`) is the run itself.
 * - Helicone: `Helicone-Session-Path` `/a/b` under `Helicone-Session-Id` is `<id>:a:b`, parent `<id>:a`.
 * Returns nothing when the request names no sub-agent (or no run to hang it under).
 */
export function statedLineage(headers: Headers, explicitId: string | undefined): { explicitId: string; explicitParentId: string } | undefined {
  if (!explicitId) return undefined;
  const agentId = header(headers, 'x-claude-code-agent-id');
  if (agentId) return nested(explicitId, [`agent-${agentId}`]);
  const codex = header(headers, 'x-codex-turn-metadata');
  if (codex) {
    try {
      const agentName = (JSON.parse(codex) as { agent_name?: unknown }).agent_name;
      if (typeof agentName === 'string') return nested(explicitId, pathParts(agentName, 'root'));
    } catch {
      // not JSON: no agent named
    }
  }
  const heliconePath = header(headers, 'helicone-session-path');
  if (heliconePath && header(headers, 'helicone-session-id') !== undefined) return nested(explicitId, pathParts(heliconePath));
  return undefined;
}
