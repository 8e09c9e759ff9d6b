// The `session:` settings as a user sees them through the SDKs: detection off, max_sessions eviction,
// custom reset phrases, fuzzy matching off, a larger count-drop threshold, partitioning off, context breaks.
import { afterEach, describe, expect, it } from 'vitest';
import { closeStacks, Conversation, decisionLogs, GatewayClient, MATRIX, metrics, openStack } from './helpers.js';

afterEach(closeStacks);

for (const { format, stream, label } of MATRIX) {
  describe(label, () => {
    async function setup(session: Record<string, unknown>) {
      const stack = await openStack({ type: format, session });
      const client = new GatewayClient(stack);
      return { stack, client, chat: () => new Conversation(client, { stream }) };
    }

    it('sends no X-Session-ID and logs no decision when session.enabled is false', async () => {
      const { stack, chat } = await setup({ enabled: false });
      const c = chat();
      await c.say('Hello');
      await c.say('Still there?', { headers: { 'x-session-id': 'explicit-but-ignored' } });
      expect(c.sessionIds).toEqual([null, null]);
      expect(c.turns.every((t) => t.requestId.startsWith('req_'))).toBe(true);
      expect(c.lastReply.text).toBe('Reply to: Still there? (turn 2)');
      expect(decisionLogs(stack)).toEqual([]);
      expect(stack.logs.some((l) => 'session_id' in l && l.session_id !== undefined)).toBe(false);
      expect(await metrics(stack)).toBeNull();
    });

    it('evicts the least recently used session beyond max_sessions and counts it', async () => {
      const { stack, chat } = await setup({ max_sessions: 3 });
      const chats = Array.from({ length: 5 }, chat);
      for (const [i, c] of chats.entries()) await c.say(`Conversation ${i}: hello`);
      expect(new Set(chats.map((c) => c.sessionIds[0])).size).toBe(5);
      expect(await metrics(stack)).toMatchObject({ active_count: 3, total_created: 5, evicted: 2 });
      // Conversation 0 was evicted first: its next request cannot be linked and starts a new session...
      const back = await chats[0].say('Are you still there?');
      expect(back).toMatchObject({ rule: 'first', isNew: true });
      expect(back.sessionId).not.toBe(chats[0].sessionIds[0]);
      expect(await metrics(stack)).toMatchObject({ active_count: 3, total_created: 6, evicted: 3 });
      // ...which pushed out conversation 2 (now the least recently used), while 3 and 4 live on.
      expect(await chats[4].say('Go on')).toMatchObject({ sessionId: chats[4].sessionIds[0], rule: 'continued' });
      expect(await chats[3].say('Go on')).toMatchObject({ sessionId: chats[3].sessionIds[0], rule: 'continued' });
      expect(await chats[0].say('Good')).toMatchObject({ sessionId: back.sessionId, rule: 'continued' });
      expect((await chats[2].say('Go on')).rule).toBe('first');
      expect(await metrics(stack)).toMatchObject({ active_count: 3, total_created: 7, evicted: 4 });
    });

    it('resets only on the configured reset_phrases', async () => {
      const { stack, chat } = await setup({ reset_phrases: ['begin again', 'fresh start'] });
      const c = chat();
      const first = (await c.say('Plan a trip to Rome')).sessionId;
      expect(await c.say("Let's start over with Milan")).toMatchObject({ sessionId: first, rule: 'continued' });
      const reset = await c.say('Begin AGAIN: plan a trip to Oslo');
      expect(reset).toMatchObject({ rule: 'reset_phrase', isNew: true });
      expect(await c.say('In winter')).toMatchObject({ sessionId: reset.sessionId, rule: 'continued' });
      const second = await c.say('I want a fresh start: Lisbon');
      expect(second.rule).toBe('reset_phrase');
      expect(new Set([first, reset.sessionId, second.sessionId]).size).toBe(3);
      expect((await metrics(stack)).resets.reset_phrase).toBe(2);
    });

    it('treats altered echoes as new conversations when fuzzy_matching is false', async () => {
      const { stack, client, chat } = await setup({ fuzzy_matching: false });
      const c = new Conversation(client, { stream, alter: (text) => `${text.split(' ').slice(0, 5).join(' ')}…` });
      await c.say('Explain recursion', { reply: 'Recursion is when a function calls itself until a base case stops it.' });
      await c.say('Give an example', { reply: 'Factorial is the classic example: n! equals n times (n-1)!.' });
      await c.say('Another one?', { reply: 'Fibonacci is another: each number is the sum of the previous two.' });
      expect(c.rules).toEqual(['first', 'first', 'first']);
      expect(new Set(c.sessionIds).size).toBe(3);
      expect((await metrics(stack)).fuzzy_matches).toBe(0);
      // Exact echoes still continue.
      const exact = chat();
      await exact.say('Hi');
      expect((await exact.say('More')).rule).toBe('continued');
    });

    it('keeps a cut-back history in its session when min_messages_for_new_session is larger than the drop', async () => {
      const { stack, chat } = await setup({ min_messages_for_new_session: 6 });
      const c = chat();
      const session = (await c.say('q1')).sessionId;
      await c.say('q2');
      await c.say('q3');
      c.replaceHistory(c.history.slice(0, 2));
      expect(await c.say('q2, asked differently')).toMatchObject({ sessionId: session, isNew: false });
      expect((await metrics(stack)).resets.count_drop).toBe(0);
    });

    it('lets content join sessions across API keys only when partition_by is none', async () => {
      const { stack } = await setup({ partition_by: 'none' });
      const mine = new Conversation(new GatewayClient(stack, 'sk-tenant-a'), { stream });
      const theirs = new Conversation(new GatewayClient(stack, 'sk-tenant-b'), { stream });
      const session = (await mine.say('Shared workspace question')).sessionId;
      theirs.replaceHistory(mine.history);
      expect(await theirs.say('Follow-up from another key')).toMatchObject({ sessionId: session, rule: 'continued' });
    });

    it('splits on a change of subject when context_break is enabled', async () => {
      const { stack, chat } = await setup({ context_break: { enabled: true, threshold: 0.2 } });
      const c = chat();
      const session = (await c.say('Explain photosynthesis: chlorophyll, sunlight, glucose, plants, leaves, carbon dioxide, oxygen')).sessionId;
      expect(await c.say('How do plants turn sunlight and carbon dioxide into glucose inside leaves?')).toMatchObject({
        sessionId: session,
        rule: 'continued',
      });
      const change = await c.say('Recommend thriller novels about submarines, spies, espionage and cold war intrigue');
      expect(change).toMatchObject({ rule: 'context_break', isNew: true });
      expect(await c.say('Which thriller novels about submarines are best for espionage fans?')).toMatchObject({ sessionId: change.sessionId });
      expect((await metrics(stack)).resets.context_break).toBe(1);
    });
  });
}
