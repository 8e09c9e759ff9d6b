// The session table and the guide's recipes, each a view of the same per-session rows: which columns, in
// which order by default, how many rows. The recipes answer one question each, so they show one figure
// beside the session id (and what is needed to read it).

import type { SessionRow, SortKey } from './aggregate.js';
import { formatCost, formatDuration, formatTime } from './format.js';
import type { Column } from './render.js';

const NO_SESSION = '(no session)';

type SessionColumn = Column<SessionRow>;

const session: SessionColumn = { header: 'session', key: 'session_id', text: (r) => r.session_id ?? NO_SESSION, value: (r) => r.session_id };
// JSON and CSV only: the table stays as wide as it was; `sessions show` draws the tree.
const parent: SessionColumn = { header: 'parent', key: 'parent_session_id', text: (r) => r.parent_session_id ?? '-', value: (r) => r.parent_session_id };
const requests: SessionColumn = { header: 'requests', key: 'requests', align: 'right', text: (r) => String(r.requests), value: (r) => r.requests };
const first: SessionColumn = { header: 'first (UTC)', key: 'first', text: (r) => formatTime(r.first), value: (r) => r.first };
const last: SessionColumn = { header: 'last (UTC)', key: 'last', text: (r) => formatTime(r.last), value: (r) => r.last };
const duration: SessionColumn = {
  header: 'duration',
  key: 'duration_ms',
  align: 'right',
  text: (r) => formatDuration(r.duration_ms),
  value: (r) => r.duration_ms,
};
const mean: SessionColumn = { header: 'mean', key: 'mean_ms', align: 'right', text: (r) => formatDuration(r.mean_ms), value: (r) => r.mean_ms };
// "~" marks a p95 estimated from a sample (sessions of more than DURATION_CAP requests).
const p95: SessionColumn = {
  header: 'p95',
  key: 'p95_ms',
  align: 'right',
  text: (r) => `${r.p95_exact ? '' : '~'}${formatDuration(r.p95_ms)}`,
  value: (r) => r.p95_ms,
};
const p95Exact: SessionColumn = { header: 'p95 exact', key: 'p95_exact', text: (r) => String(r.p95_exact), value: (r) => r.p95_exact };
const tokensIn: SessionColumn = { header: 'tokens in', key: 'input_tokens', align: 'right', text: (r) => String(r.input_tokens), value: (r) => r.input_tokens };
const tokensOut: SessionColumn = {
  header: 'tokens out',
  key: 'output_tokens',
  align: 'right',
  text: (r) => String(r.output_tokens),
  value: (r) => r.output_tokens,
};
const cost: SessionColumn = { header: 'cost', key: 'cost_usd', align: 'right', text: (r) => formatCost(r.cost_usd), value: (r) => r.cost_usd };
const tokensTotal: SessionColumn = { header: 'tokens', key: 'total_tokens', align: 'right', text: (r) => String(r.total_tokens), value: (r) => r.total_tokens };
const errors: SessionColumn = { header: 'errors', key: 'errors', align: 'right', text: (r) => String(r.errors), value: (r) => r.errors };
const models: SessionColumn = { header: 'models', key: 'models', text: (r) => r.models.join(',') || '-', value: (r) => r.models };

export interface View {
  name: string;
  /** What it answers, for --help. */
  description: string;
  sort: SortKey;
  /** Rows shown when --top is not given; undefined: all. */
  top?: number;
  /** Columns of the text table. */
  table: SessionColumn[];
  /** Columns of --json and --csv (the table's, plus exact values the table abbreviates). */
  data: SessionColumn[];
}

export const SUMMARY_VIEW: View = {
  name: 'sessions',
  description: 'one row per session: requests, first/last time, duration, mean and p95 response time, tokens, cost, errors, models',
  sort: 'requests',
  table: [session, requests, first, last, duration, mean, p95, tokensIn, tokensOut, cost, errors, models],
  data: [session, parent, requests, first, last, duration, mean, p95, p95Exact, tokensIn, tokensOut, tokensTotal, cost, errors, models],
};

/** The guide's recipes, one subcommand each. */
export const RECIPES: View[] = [
  {
    name: 'requests',
    description: "requests per session (the guide's `jq -r .session_id traces/*.jsonl | sort | uniq -c`)",
    sort: 'requests',
    table: [requests, session],
    data: [session, requests],
  },
  {
    name: 'mean-time',
    description: 'mean response time per session, slowest first (with p95 and the request count it rests on)',
    sort: 'mean',
    table: [session, requests, mean, p95],
    data: [session, requests, mean, p95, p95Exact],
  },
  {
    name: 'most-active',
    description: 'the 10 sessions with the most requests (--top to change)',
    sort: 'requests',
    top: 10,
    table: [session, requests, tokensTotal, first, last],
    data: [session, requests, tokensTotal, first, last],
  },
  {
    name: 'duration',
    description: 'session duration (last request time − first request time), longest first',
    sort: 'duration',
    table: [session, requests, first, last, duration],
    data: [session, requests, first, last, duration],
  },
];
