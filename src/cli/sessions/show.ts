// `sessions show ID`: one session's requests in time order, each with its status, duration, tokens, the
// user message it added and the reply, cut to a width. The directory is scanned like for the table (fast
// path, workers), keeping only this session's traces; those few are then read again (a file, or a segment's
// line at its offset) and parsed in full for their bodies.

import { join } from 'node:path';
import { readTraceText } from '../../interceptors/trace/trace-reference.js';
import { SessionAggregator } from './aggregate.js';
import { clip, formatDuration, formatTime } from './format.js';
import { exchangeTexts } from './messages.js';
import { renderCsv, renderJson, renderTable, type Column } from './render.js';
import type { TraceSummary } from './trace-summary.js';

export interface ShowRow {
  n: number;
  timestamp: string;
  request_id: string | null;
  status: number | null;
  failure: string | null;
  duration_ms: number | null;
  input_tokens: number;
  output_tokens: number;
  model: string | null;
  user_message: string;
  reply: string;
  /** The trace file's name, or `<segment>#<byte offset>` for a line of a segment. */
  file: string;
}

/**
 * The session's rows, oldest first (ties: by file name, which ends with the request id, or reference). `width` null keeps
 * the texts whole (JSON and CSV without --width).
 */
export async function showRows(directory: string, summaries: TraceSummary[], width: number | null): Promise<ShowRow[]> {
  const cut = (text: string) => (width === null ? text : clip(text, width));
  const ordered = [...summaries].sort((a, b) => a.timestamp - b.timestamp || a.file.localeCompare(b.file));
  const rows: ShowRow[] = [];
  for (const summary of ordered) {
    let requestId: string | null = null;
    let texts: { user: string; reply: string };
    try {
      const trace: unknown = JSON.parse(await readTraceText(join(directory, summary.file)));
      if (typeof trace !== 'object' || trace === null || Array.isArray(trace)) throw new Error('not an object');
      const record = trace as Record<string, unknown>;
      requestId = typeof record.request_id === 'string' ? record.request_id : null;
      texts = exchangeTexts(record);
    } catch (err) {
      // The summary came from the fast path, which does not read the bodies; a body can still be damaged.
      const why = `[unreadable body: ${err instanceof Error ? err.message : String(err)}]`;
      texts = { user: why, reply: why };
    }
    rows.push({
      n: rows.length + 1,
      timestamp: new Date(summary.timestamp).toISOString(),
      request_id: requestId,
      status: summary.status,
      failure: summary.failure,
      duration_ms: summary.durationMs,
      input_tokens: summary.inputTokens,
      output_tokens: summary.outputTokens,
      model: summary.model,
      user_message: cut(texts.user),
      reply: cut(texts.reply),
      file: summary.file,
    });
  }
  return rows;
}

const status = (row: ShowRow) => `${row.status ?? '-'}${row.failure ? ` ${row.failure}` : ''}`;

const headColumns: Column<ShowRow>[] = [
  { header: '#', key: 'n', align: 'right', text: (r) => String(r.n), value: (r) => r.n },
  { header: 'time (UTC)', key: 'timestamp', text: (r) => formatTime(r.timestamp, true), value: (r) => r.timestamp },
  { header: 'status', key: 'status', text: status, value: (r) => r.status },
  { header: 'duration', key: 'duration_ms', align: 'right', text: (r) => formatDuration(r.duration_ms), value: (r) => r.duration_ms },
  { header: 'tokens in/out', key: 'tokens', text: (r) => `${r.input_tokens}/${r.output_tokens}`, value: (r) => r.input_tokens + r.output_tokens },
  { header: 'model', key: 'model', text: (r) => r.model ?? '-', value: (r) => r.model },
];

/** Every field, for --json and --csv. */
const dataColumns: Column<ShowRow>[] = (
  ['n', 'timestamp', 'request_id', 'status', 'failure', 'duration_ms', 'input_tokens', 'output_tokens', 'model', 'user_message', 'reply', 'file'] as const
).map((key) => ({
  header: key,
  key,
  text: (r) => String(r[key]),
  value: (r) => r[key],
}));

/**
 * The text form: a header line about the session, its place among sub-agents when it has one (`lineage`,
 * see lineage.ts), then per request one aligned line and its two texts.
 */
export function renderShowText(sessionId: string, summaries: TraceSummary[], rows: ShowRow[], lineage: string[] = []): string {
  const aggregator = new SessionAggregator();
  for (const summary of summaries) aggregator.add(summary);
  const [session] = aggregator.rows();
  const header =
    `session ${sessionId}: ${session.requests} request${session.requests === 1 ? '' : 's'}, ` +
    `${formatTime(session.first)} → ${formatTime(session.last)} (${formatDuration(session.duration_ms)}), ` +
    `mean ${formatDuration(session.mean_ms)}, tokens ${session.input_tokens} in / ${session.output_tokens} out, ` +
    `${session.errors} error${session.errors === 1 ? '' : 's'}`;
  const lines = renderTable(headColumns, rows).trimEnd().split('\n');
  const indent = ' '.repeat(String(rows.length).length + 2);
  const out = [header, ...lineage, '', lines[0]];
  rows.forEach((row, i) => out.push(lines[i + 1], `${indent}user:  ${row.user_message}`, `${indent}reply: ${row.reply}`));
  return `${out.join('\n')}\n`;
}

export function renderShowData(format: 'json' | 'csv', rows: ShowRow[]): string {
  return format === 'json' ? renderJson(dataColumns, rows) : renderCsv(dataColumns, rows);
}
