import { CanonicalBuilder, conversationOf, type CanonicalMessage } from '../../src/conversation/canonical.js';
import type { DetectionEngine } from '../../src/sessions/engine.js';
import type { SessionDecision, SessionRequest } from '../../src/sessions/types.js';

export const user = (text: string): CanonicalMessage => new CanonicalBuilder().text(text).build('user');
export const assistant = (text: string): CanonicalMessage => new CanonicalBuilder().text(text).build('assistant');
export const toolCall = (id: string, name: string, args: unknown): CanonicalMessage => new CanonicalBuilder().toolCall(id, name, args).build('assistant');
export const toolResult = (id: string, content: string): CanonicalMessage => new CanonicalBuilder().toolResult(id, content).build('tool');

/** A scripted client: keeps its own history, sends it, appends the reply it is given, as real apps do. */
export class ScriptedChat {
  readonly history: CanonicalMessage[] = [];
  readonly decisions: SessionDecision[] = [];

  constructor(
    private readonly engine: DetectionEngine,
    private readonly extra: Partial<SessionRequest> = { partition: 'key-a' },
  ) {}

  /** Sends the history plus `turn`, records `reply`, and returns the decision. */
  send(turn: CanonicalMessage | CanonicalMessage[], reply: string | CanonicalMessage): SessionDecision {
    this.history.push(...(Array.isArray(turn) ? turn : [turn]));
    const decision = this.engine.decideNow({ partition: 'key-a', ...this.extra, conversation: conversationOf([...this.history]) });
    const replyMessage = typeof reply === 'string' ? assistant(reply) : reply;
    this.engine.recordReply(decision, { replies: [replyMessage] });
    this.history.push(replyMessage);
    this.decisions.push(decision);
    return decision;
  }

  get sessionIds(): string[] {
    return this.decisions.map((d) => d.sessionId);
  }
}

export function ask(engine: DetectionEngine, messages: CanonicalMessage[], extra: Partial<SessionRequest> = {}): SessionDecision {
  return engine.decideNow({ partition: 'key-a', ...extra, conversation: conversationOf(messages) });
}
