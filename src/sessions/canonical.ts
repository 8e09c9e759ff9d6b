// The canonical form moved to src/conversation/ (providers and sessions both use it). This re-export is kept
// only because test/helpers/conversation.ts, owned elsewhere, still imports this path; remove it with that import.
export { CanonicalBuilder, conversationOf, type CanonicalMessage } from '../conversation/canonical.js';
