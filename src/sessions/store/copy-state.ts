import type { SessionState, StoredSession } from './types.js';

/**
 * A deep copy of a session's state, field by field. The engine keeps mutating its own state (replies pushed
 * and claimed), so a store must hold a copy of what was written, and hand out copies of what it holds. The
 * state is plain data of a known shape: copying it by hand costs a fraction of `structuredClone`, which
 * serialises through the structured-clone algorithm on every reply.
 */
export function copyState(state: SessionState): SessionState {
  return {
    ...state,
    sketch: state.sketch.slice(),
    replies: state.replies.map((reply) => ({ keys: reply.keys.slice(), position: reply.position, prev: reply.prev, followUp: reply.followUp })),
    anchor: state.anchor && { key: state.anchor.key, position: state.anchor.position },
    paragraphs: state.paragraphs.slice(),
    responses: state.responses.slice(),
    topic: state.topic ? state.topic.slice() : null,
    ...(state.parent !== undefined ? { parent: state.parent && { ...state.parent } } : {}),
  };
}

export function copyStored(session: StoredSession): StoredSession {
  return { ...session, state: copyState(session.state) };
}
