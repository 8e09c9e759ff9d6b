// Compaction through HTTP (the `compaction` rule of docs/sessions.md): a client summarises its history with a
// reply the gateway returned and continues in a new history that quotes it, the way real clients do (a
// lead-in on the same line, tags, re-wrapped lines, a cut). Both wire formats, JSON and streamed. The false
// positives first: an older reply quoted, and boilerplate shared by two sessions, start new sessions.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ANSWER_A, ANSWER_B, BOILERPLATE, claudeCodeLeadIn, firstPart, rewrapped, SHORT_REPLY, SUMMARY, TAGGED_REPLY } from '../helpers/compaction.js';
import type { Stack } from '../helpers/stack.js';
import { closeStacks, Conversation, GatewayClient, MATRIX, metrics, openStack, userMessage } from './helpers.js';

afterEach(closeStacks);

for (const { format, stream, label } of MATRIX) {
  describe(label, () => {
    const env = {} as { stack: Stack; client: GatewayClient };
    beforeEach(async () => {
      // A fixed hash key: the sample of a reply depends on it, so every run checks the same sample.
      env.stack = await openStack({ type: format, session: { hash_key: 'compaction-e2e' } });
      env.client = new GatewayClient(env.stack);
    });

    /** A session whose latest reply is `reply`; returns the conversation and its session id. */
    async function sessionEndingWith(reply: string): Promise<{ chat: Conversation; session: string }> {
      const chat = new Conversation(env.client, { stream });
      const session = (await chat.say("Let's build a lending library service")).sessionId!;
      const summarised = await chat.say('Summarise our conversation so far, please.', { reply });
      expect(summarised.reply.text).toBe(reply);
      return { chat, session };
    }

    /** The client drops its history and continues in a new one whose first user message is `text`. */
    async function continueWith(chat: Conversation, text: string) {
      chat.replaceHistory([userMessage(text)]);
      return chat.exchange();
    }

    it('starts a new session when a new history quotes an OLDER reply of a session', async () => {
      const { chat, session } = await sessionEndingWith(SUMMARY);
      await chat.say('Something else now', { reply: ANSWER_A });
      const quoted = await new Conversation(env.client, { stream }).say(claudeCodeLeadIn(SUMMARY));
      expect(quoted).toMatchObject({ rule: 'first', isNew: true });
      expect(quoted.sessionId).not.toBe(session);
    });

    it('starts a new session when a new history only shares boilerplate with two sessions', async () => {
      const a = await sessionEndingWith(ANSWER_A);
      const b = await sessionEndingWith(ANSWER_B);
      const shared = await new Conversation(env.client, { stream }).say(`Someone wrote this to me:\n${BOILERPLATE}\nHow do I answer politely?`);
      expect(shared).toMatchObject({ rule: 'first', isNew: true });
      expect([a.session, b.session]).not.toContain(shared.sessionId);
      expect((await metrics(env.stack)).decisions.compaction).toBe(0);
    });

    it("follows Claude Code's lead-in, single newline and summary (its analysis and tags dropped)", async () => {
      const { chat, session } = await sessionEndingWith(TAGGED_REPLY);
      expect(await continueWith(chat, claudeCodeLeadIn(SUMMARY))).toMatchObject({ sessionId: session, rule: 'compaction', isNew: false });
      expect(await chat.say('Write the reservations migration.')).toMatchObject({ sessionId: session, rule: 'continued' });
      const m = await metrics(env.stack);
      expect(m.total_created).toBe(1);
      expect(m.decisions.compaction).toBe(1);
    });

    it('follows a summary the client wraps in <summary> tags', async () => {
      const { chat, session } = await sessionEndingWith(SUMMARY);
      expect(await continueWith(chat, `Context from before:\n<summary>\n${SUMMARY}\n</summary>\nGo on.`)).toMatchObject({
        sessionId: session,
        rule: 'compaction',
      });
    });

    it('follows a summary with re-wrapped lines and no markdown emphasis', async () => {
      const { chat, session } = await sessionEndingWith(SUMMARY);
      expect(await continueWith(chat, `Previous context: ${rewrapped(SUMMARY, 72)}`)).toMatchObject({ sessionId: session, rule: 'compaction' });
    });

    it('follows a partial summary that keeps most of the reply', async () => {
      const { chat, session } = await sessionEndingWith(SUMMARY);
      expect(await continueWith(chat, claudeCodeLeadIn(firstPart(SUMMARY, 0.85)))).toMatchObject({ sessionId: session, rule: 'compaction' });
    });

    it('follows a short reply quoted inside a sentence', async () => {
      const { chat, session } = await sessionEndingWith(SHORT_REPLY);
      expect(await continueWith(chat, `Earlier you said: ${SHORT_REPLY} Continue from there.`)).toMatchObject({ sessionId: session, rule: 'compaction' });
    });
  });
}
