import type { FastifyInstance } from 'fastify';
import { readTraceText } from '../interceptors/trace/trace-reference.js';
import { transcriptOf, type TranscriptMessage } from '../providers/transcript.js';
import { z } from 'zod';
import type { Persistence } from '../sessions/store/open-persistence.js';
import type { RequestRow } from '../sessions/store/postgres-records.js';
import type { SessionTimelines } from '../sessions/timeline.js';
import type { SessionEngine } from '../sessions/types.js';
import { errorBody, errors, type GatewayError } from './errors.js';
import { sessionLineage } from './session-lineage.js';

const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
  sort: z.enum(['last_seen', 'created', 'requests', 'tokens', 'messages', 'cost']).default('last_seen'),
  order: z.enum(['asc', 'desc']).default('desc'),
  rule: z.enum(['explicit', 'continued', 'retry', 'fuzzy', 'reset_phrase', 'count_drop', 'context_break', 'compaction', 'first']).optional(),
  q: z.string().min(1).max(200).optional(),
  /** Seconds: only sessions seen this recently. */
  active_within: z.coerce.number().positive().optional(),
  /** Only sessions without a parent: top-level runs, their sub-agents left out. */
  root_only: z.stringbool().optional(),
});

/** Requests shown per session at most. */
const TIMELINE_LIMIT = 500;
/** Largest trace (file, or line of a segment) read to show a conversation. */
const TRACE_READ_LIMIT = 16 * 1024 * 1024;

/**
 * The conversation as of the session's latest traced request: that request's whole history plus its reply
 * (each chat request carries the history, so one trace holds the conversation). The newest trace may still
 * be in the writer's queue, so a few earlier ones are tried. Null when none is readable (trace interceptor
 * off, bodies off or truncated, files removed).
 */
async function conversationOf(requests: RequestRow[]): Promise<TranscriptMessage[] | null> {
  const traced = requests
    .filter((entry) => entry.trace_file)
    .slice(-3)
    .reverse();
  for (const entry of traced) {
    const transcript = await readTranscript(entry.trace_file!);
    if (transcript) return transcript;
  }
  return null;
}

/** The conversation in one trace: a `.json` file, or a segment's line (`<segment>#<offset>`, trace-reference.ts). */
async function readTranscript(reference: string): Promise<TranscriptMessage[] | undefined> {
  try {
    const trace = JSON.parse(await readTraceText(reference, TRACE_READ_LIMIT)) as {
      provider?: string;
      request?: { path?: string; body?: unknown };
      response?: { body?: unknown };
    };
    return transcriptOf(trace.provider ?? '', trace.request?.path ?? '', trace.request?.body, trace.response?.body);
  } catch {
    // A trace not written yet (still queued, or its line mid-append), gone or unreadable only costs the
    // conversation view.
    return undefined;
  }
}

/**
 * A bare session name that several partitions (credentials) use names several sessions: the caller must
 * pick one by its id rather than have the gateway pick, or end them all.
 */
const ambiguous = (name: string, ids: string[]): GatewayError => ({
  status: 409,
  type: 'invalid_request_error',
  code: 'ambiguous_session',
  message: `${ids.length} live sessions are named ${name} (one per credential that used the name): name one of them by its id`,
  details: { candidates: ids },
});

export interface SessionsDeps {
  sessions: SessionEngine;
  timelines: SessionTimelines;
  persistence: Persistence | null;
}

/**
 * The sessions API: live sessions (this gateway's, or the fleet's through a shared store), one session with
 * its request timeline (from the Postgres record when configured, else from this gateway's recent memory)
 * and its place among sub-agents (parent, children, tree totals), and ending a session so that the next
 * request starts a new one.
 */
export function registerSessionsRoutes(scope: FastifyInstance, { sessions, timelines, persistence }: SessionsDeps): void {
  scope.get('/sessions', async (request, reply) => {
    const parsed = listQuery.safeParse(request.query);
    if (!parsed.success) {
      const problem = parsed.error.issues[0];
      return reply
        .code(400)
        .type('application/json')
        .send(errorBody(errors.badQuery(`${problem.path.join('.') || 'query'}: ${problem.message}`), request.id));
    }
    const { active_within, root_only, ...query } = parsed.data;
    const { sessions: page, total } = await sessions.list({ ...query, activeWithinMs: active_within ? active_within * 1000 : undefined, rootOnly: root_only });
    return { sessions: page, total, limit: query.limit, offset: query.offset, source: persistence ? persistence.link.store.backend : 'memory' };
  });

  // `:id` is a session's id as this API lists it (unique across credentials), or a client-given name that
  // exactly one live session bears. An ended session's recorded requests stay readable by its id.
  scope.get<{ Params: { id: string } }>('/sessions/:id', async (request, reply) => {
    const { id } = request.params;
    const found = await sessions.find(id);
    if (found.kind === 'ambiguous')
      return reply
        .code(409)
        .type('application/json')
        .send(errorBody(ambiguous(id, found.ids), request.id));
    const session = found.kind === 'one' ? found.session : null;
    const key = session?.id ?? id;
    const recorded = persistence?.recordedRequests;
    const requests = recorded ? await recorded(key, TIMELINE_LIMIT) : timelines.get(key).slice(-TIMELINE_LIMIT);
    if (!session && requests.length === 0)
      return reply
        .code(404)
        .type('application/json')
        .send(errorBody(errors.notFound(`session ${id}`), request.id));
    const lineage = await sessionLineage(sessions, persistence !== null, key, session, requests);
    return { session, ...lineage, requests, timeline_source: recorded ? 'postgres' : 'memory', conversation: await conversationOf(requests) };
  });

  scope.delete<{ Params: { id: string } }>('/sessions/:id', async (request, reply) => {
    const { id } = request.params;
    const ended = await sessions.endSession(id);
    if (ended.kind === 'ambiguous')
      return reply
        .code(409)
        .type('application/json')
        .send(errorBody(ambiguous(id, ended.ids), request.id));
    if (ended.kind === 'none')
      return reply
        .code(404)
        .type('application/json')
        .send(errorBody(errors.notFound(`live session ${id}`), request.id));
    timelines.forget(ended.session.id);
    return reply.code(204).send();
  });
}
