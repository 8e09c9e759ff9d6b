// Lineage that clients state in headers: a named run keeps its name, its sub-agents get names of their own
// under it (Claude Code's agent id, Codex's agent path, Helicone's session path); nothing else changes.
import { describe, expect, it } from 'vitest';
import { statedLineage } from '../../../src/sessions/lineage/agent-headers.js';
import { sessionRequestBuilder } from '../../../src/sessions/request.js';
import { conversationOf } from '../../../src/conversation/canonical.js';

describe('statedLineage', () => {
  it('names a Claude Code sub-agent after the run and its agent id, with the run as parent', () => {
    expect(statedLineage({ 'x-claude-code-agent-id': 'a1b2' }, 'run-7')).toEqual({ explicitId: 'run-7:agent-a1b2', explicitParentId: 'run-7' });
  });

  it('reads the Codex agent path: the main agent is the run itself, nested agents hang under their parent agent', () => {
    const meta = (agent_name: string) => ({ 'x-codex-turn-metadata': JSON.stringify({ session_id: 's', agent_name, turn_id: 't' }) });
    expect(statedLineage(meta('/root'), 'cx')).toBeUndefined();
    expect(statedLineage(meta('/root/worker'), 'cx')).toEqual({ explicitId: 'cx:worker', explicitParentId: 'cx' });
    expect(statedLineage(meta('/root/worker/reader'), 'cx')).toEqual({ explicitId: 'cx:worker:reader', explicitParentId: 'cx:worker' });
    expect(statedLineage({ 'x-codex-turn-metadata': 'not json' }, 'cx')).toBeUndefined();
  });

  it('reads Helicone-Session-Path under Helicone-Session-Id', () => {
    const headers = { 'helicone-session-id': 'h1', 'helicone-session-path': '/plan/research' };
    expect(statedLineage(headers, 'h1')).toEqual({ explicitId: 'h1:plan:research', explicitParentId: 'h1:plan' });
    expect(statedLineage({ ...headers, 'helicone-session-path': '/' }, 'h1')).toBeUndefined();
  });

  it('needs a named run: an agent id alone names nothing', () => {
    expect(statedLineage({ 'x-claude-code-agent-id': 'a1' }, undefined)).toBeUndefined();
  });

  it('sanitises what it builds like any session name', () => {
    expect(statedLineage({ 'x-claude-code-agent-id': 'a b/c' }, 'run')).toEqual({ explicitId: 'run:agent-a_b_c', explicitParentId: 'run' });
  });
});

describe('sessionRequestBuilder with agent headers', () => {
  it('turns a sub-agent request of a named run into its own named session with the run as parent', () => {
    const build = sessionRequestBuilder({ explicit_id_headers: ['x-*-session-id'], partition_by: 'credential' }, 'sk');
    const parsed = { stream: false, conversation: () => conversationOf([]) };
    const request = build({
      headers: { 'x-claude-code-session-id': 'run-9', 'x-claude-code-agent-id': 'z' },
      clientIp: '::1',
      clientCredential: undefined,
      parsed,
    });
    expect([request.explicitId, request.explicitParentId]).toEqual(['run-9:agent-z', 'run-9']);
    const main = build({ headers: { 'x-claude-code-session-id': 'run-9' }, clientIp: '::1', clientCredential: undefined, parsed });
    expect([main.explicitId, main.explicitParentId]).toEqual(['run-9', undefined]);
  });
});
