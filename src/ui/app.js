// Cylestio Gateway's web page: plain DOM, no framework, no build step.
// All API data enters the page through textContent or setAttribute, never innerHTML, so a session id or a
// message can never become markup.

/** How often the open view and the metrics are fetched again. */
const REFRESH_MS = 5000;
/** Metrics samples the chart keeps (5 minutes at the refresh rate). */
const SAMPLES = 60;
/** Sessions per page of the table. */
const PAGE = 50;
const SVG_NS = 'http://www.w3.org/2000/svg';

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

const state = {
  paused: false,
  sort: 'last_seen',
  order: 'desc',
  q: '',
  /** Only top-level sessions (root_only): sub-agents left out of the table. */
  rootOnly: false,
  offset: 0,
  /** @type {{ view: 'list' } | { view: 'detail', id: string }} */
  route: { view: 'list' },
  /** @type {{ rate: number, active: number | null }[]} */
  samples: [],
  /** Sessions off in the gateway's config (metrics.sessions is null): the table says so instead of asking. */
  sessionsOff: false,
  timer: 0,
  /** @type {AbortController | null} */
  inflight: null,
  /** What the detail view last drew, so an unchanged session is not redrawn (keeps hover and scroll). */
  drawn: { timeline: '', conversation: '', lineage: '' },
  /** The session whose page was last open, to give focus back to its row on return. */
  lastOpened: '',
};

// ---------------------------------------------------------------------------------------------------------
// DOM helpers

/** An element with attributes and children; strings become text nodes (never parsed as HTML). */
function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? '' : String(value));
  node.append(...children.filter((child) => child !== null && child !== undefined).map((child) => (typeof child === 'object' ? child : String(child))));
  return node;
}

/** The same for SVG: geometry is set through attributes, which the page's CSP allows (inline styles are not). */
function s(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) if (value !== undefined && value !== null) node.setAttribute(key, String(value));
  node.append(...children.map((child) => (typeof child === 'object' ? child : String(child))));
  return node;
}

const number = new Intl.NumberFormat();
const fmt = (value) => (value === null || value === undefined ? '–' : number.format(value));
// Dollars to the cent from a dollar up, else to four significant digits (a cheap request costs fractions of a cent).
const fmtUsd = (usd) => (usd === null || usd === undefined ? '–' : usd >= 1 ? `$${usd.toFixed(2)}` : `$${Number(usd.toPrecision(4))}`);

function fmtDuration(ms) {
  if (ms === null || ms === undefined) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

function fmtAgo(iso) {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return new Date(iso).toLocaleDateString();
}

const fmtClock = (iso) => new Date(iso).toLocaleTimeString();

/** A <time> showing how long ago, with the full date and time on hover. */
function timeAgo(iso) {
  return h('time', { datetime: iso, title: new Date(iso).toLocaleString() }, fmtAgo(iso));
}

function setStatus(text) {
  const status = $('status');
  // Only changes are written, so screen readers hear "paused" or an error, not every refresh.
  if (status.textContent !== text) status.textContent = text;
}

// ---------------------------------------------------------------------------------------------------------
// API

class SignedOut extends Error {}

async function api(path, { signal, method = 'GET' } = {}) {
  const response = await fetch(path, { method, signal, credentials: 'same-origin', headers: { accept: 'application/json' } });
  if (response.status === 401) {
    // The admin token changed or the cookie is gone: the reload shows the sign-in page.
    location.reload();
    throw new SignedOut('signed out');
  }
  if (response.status === 204) return { status: 204, body: null };
  const text = await response.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: the path fell through to the provider (sessions off), reported by the caller
  }
  return { status: response.status, body };
}

function problem(result) {
  return result.body?.error?.message ?? `HTTP ${result.status}`;
}

// ---------------------------------------------------------------------------------------------------------
// Refresh loop: one fetch round at a time, the next one scheduled when it ends; none while paused or hidden.

async function refresh() {
  clearTimeout(state.timer);
  state.inflight?.abort();
  const controller = new AbortController();
  state.inflight = controller;
  const { signal } = controller;
  try {
    const metrics = await api('/metrics', { signal });
    if (metrics.status === 200) renderMetrics(metrics.body);
    if (state.route.view === 'detail') await loadDetail(state.route.id, signal);
    else await loadList(signal);
    if (signal.aborted) return;
    $('status').dataset.updated = new Date().toISOString();
    setStatus(state.paused ? 'Updates paused.' : `Live: updates every ${REFRESH_MS / 1000} s.`);
    $('status').title = `Last update ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    if (signal.aborted || err instanceof SignedOut) return;
    setStatus(`Update failed: ${err instanceof Error ? err.message : String(err)}. Retrying.`);
  } finally {
    if (state.inflight === controller) {
      state.inflight = null;
      schedule();
    }
  }
}

function schedule() {
  clearTimeout(state.timer);
  if (!state.paused && !document.hidden) state.timer = window.setTimeout(refresh, REFRESH_MS);
}

function setPaused(paused) {
  state.paused = paused;
  const button = $('pause');
  button.setAttribute('aria-pressed', String(paused));
  button.textContent = paused ? 'Resume updates' : 'Pause updates';
  setStatus(paused ? 'Updates paused.' : `Live: updates every ${REFRESH_MS / 1000} s.`);
  if (paused) clearTimeout(state.timer);
  else void refresh();
}

// ---------------------------------------------------------------------------------------------------------
// Metrics and the chart

function renderMetrics(m) {
  $('service').textContent = m.service ? `${m.service.name} ${m.service.version}` : '';
  $('m-total').textContent = fmt(m.requests?.total);
  $('m-rate').textContent = fmt(m.requests?.rate_per_minute);
  $('m-errors').textContent = fmt(m.requests?.errors);
  $('m-errors').classList.toggle('bad', (m.requests?.errors ?? 0) > 0);
  $('m-active').textContent = m.sessions ? fmt(m.sessions.active_count) : 'off';
  $('m-hit').textContent = m.sessions ? `${Math.round(m.sessions.cache_hit_rate * 1000) / 10} %` : 'off';
  $('m-tokens').textContent = m.tokens ? `${fmt(m.tokens.input)} / ${fmt(m.tokens.output)}` : '–';
  $('m-cost').textContent = m.cost ? fmtUsd(m.cost.total_usd) : '–';
  $('m-cost').title = m.cost?.unpriced_requests ? `${fmt(m.cost.unpriced_requests)} requests of models without a price are not included` : '';
  state.sessionsOff = m.sessions === null;
  state.samples.push({ rate: m.requests?.rate_per_minute ?? 0, active: m.sessions ? m.sessions.active_count : null });
  if (state.samples.length > SAMPLES) state.samples.shift();
  drawSparkline();
}

function drawSparkline() {
  const svg = $('spark');
  const width = 300;
  const height = 60;
  const pad = 3;
  // One sample is drawn as a flat line, so the chart is not empty on the first load.
  const samples = state.samples.length === 1 ? [state.samples[0], state.samples[0]] : state.samples;
  const top = Math.max(1, ...samples.map((x) => Math.max(x.rate, x.active ?? 0)));
  // The samples so far fill the width: the newest at the right edge, the oldest (up to SAMPLES) at the left.
  const step = width / Math.max(1, samples.length - 1);
  const points = (pick) =>
    samples
      .map((sample, i) => [i * step, pick(sample)])
      .filter(([, value]) => value !== null)
      .map(([x, value]) => `${x.toFixed(1)},${(height - pad - (value / top) * (height - 2 * pad)).toFixed(1)}`)
      .join(' ');
  const last = state.samples[state.samples.length - 1];
  svg.replaceChildren(
    s('line', { class: 'baseline', x1: 0, x2: width, y1: height - pad, y2: height - pad }),
    s('polyline', { class: 'line-rate', points: points((x) => x.rate) }),
    s('polyline', { class: 'line-active', points: points((x) => x.active) }),
  );
  svg.setAttribute('aria-label', last ? `Latest: ${last.rate} requests per minute, ${last.active ?? 'no'} active sessions; chart maximum ${top}.` : 'No samples yet.');
}

// ---------------------------------------------------------------------------------------------------------
// Sessions list

async function loadList(signal) {
  const note = $('sessions-note');
  if (state.sessionsOff) {
    note.hidden = false;
    note.textContent = 'Session tracking is off in this gateway (session.enabled: false), so there are no sessions to list.';
    $('sessions-body').replaceChildren();
    return;
  }
  const params = new URLSearchParams({ limit: String(PAGE), offset: String(state.offset), sort: state.sort, order: state.order });
  if (state.q) params.set('q', state.q);
  if (state.rootOnly) params.set('root_only', 'true');
  const result = await api(`/sessions?${params}`, { signal });
  if (signal.aborted) return;
  if (result.status !== 200 || !result.body?.sessions) {
    note.hidden = false;
    note.textContent = `The sessions could not be listed: ${problem(result)}.`;
    return;
  }
  const { sessions, total, offset } = result.body;
  // A page that emptied (sessions expired) goes back to the last page that has rows.
  if (sessions.length === 0 && offset > 0 && total > 0) {
    state.offset = Math.max(0, Math.floor((total - 1) / PAGE) * PAGE);
    return loadList(signal);
  }
  note.hidden = sessions.length > 0;
  note.textContent = state.q ? `No session id contains “${state.q}”.` : 'No sessions yet: they appear here as soon as requests go through the gateway.';
  $('sessions-total').textContent = `(${fmt(total)} ${result.body.source === 'memory' ? 'in this gateway' : `in ${result.body.source}`})`;
  renderRows(sessions);
  $('page-info').textContent = total === 0 ? '' : `${fmt(offset + 1)}–${fmt(offset + sessions.length)} of ${fmt(total)}`;
  /** @type {HTMLButtonElement} */ ($('prev')).disabled = offset === 0;
  /** @type {HTMLButtonElement} */ ($('next')).disabled = offset + sessions.length >= total;
}

const sessionHref = (id) => `#/sessions/${encodeURIComponent(id)}`;
const sessionLink = (id) => h('a', { href: sessionHref(id), class: 'session-link' }, h('code', {}, id));
/** Indent levels the stylesheet has; deeper sub-agents stay at the last one. */
const MAX_INDENT = 4;

/**
 * The page's sessions with each sub-agent right after the session it works for (depth first, siblings in
 * the page's sort order), and its depth. A session whose parent is not on this page starts a group of its
 * own; a cycle (which links should never make) cannot hide rows: whatever the walk missed follows at depth 0.
 */
function nested(sessions) {
  const onPage = new Set(sessions.map((session) => session.id));
  const children = new Map();
  for (const session of sessions) {
    const parent = session.parent_session_id;
    if (parent && onPage.has(parent) && parent !== session.id) {
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push(session);
    }
  }
  const out = [];
  const placed = new Set();
  const visit = (session, depth) => {
    if (placed.has(session.id)) return;
    placed.add(session.id);
    out.push({ session, depth });
    for (const child of children.get(session.id) ?? []) visit(child, depth + 1);
  };
  for (const session of sessions) if (!session.parent_session_id || !onPage.has(session.parent_session_id)) visit(session, 0);
  for (const session of sessions) visit(session, 0);
  return out;
}

function sessionCell(session, depth, onPage) {
  const parent = session.parent_session_id;
  if (!parent) return h('th', { scope: 'row' }, sessionLink(session.id));
  // Under its parent: a branch mark, and the relation in words for screen readers. Elsewhere: a link up.
  if (onPage.has(parent) && depth > 0)
    return h('th', { scope: 'row' }, h('span', { class: 'branch', 'aria-hidden': 'true' }, '↳ '), sessionLink(session.id), h('span', { class: 'visually-hidden' }, ` sub-agent of ${parent}`));
  return h('th', { scope: 'row' }, sessionLink(session.id), h('span', { class: 'parent-of' }, 'sub-agent of ', h('a', { href: sessionHref(parent), class: 'parent-link' }, h('code', {}, parent))));
}

function renderRows(sessions) {
  const body = $('sessions-body');
  // Rows are redrawn every refresh; a keyboard user's place is kept by focusing the same link again.
  const focused = body.contains(document.activeElement) ? document.activeElement?.closest('tr')?.dataset.id : undefined;
  const onPage = new Set(sessions.map((session) => session.id));
  body.replaceChildren(
    ...nested(sessions).map(({ session, depth }) =>
      h(
        'tr',
        {
          'data-id': session.id,
          'data-parent': session.parent_session_id ?? undefined,
          'data-depth': depth,
          class: depth > 0 ? `child depth-${Math.min(depth, MAX_INDENT)}` : undefined,
        },
        sessionCell(session, depth, onPage),
        h('td', {}, timeAgo(session.created_at)),
        h('td', {}, timeAgo(session.last_seen)),
        h('td', {}, h('span', { class: `rule rule-${session.rule}` }, session.rule)),
        h('td', { class: 'num' }, fmt(session.requests)),
        h('td', { class: 'num' }, fmt(session.messages)),
        h('td', { class: 'num', title: `${fmt(session.input_tokens)} in / ${fmt(session.output_tokens)} out` }, fmt(session.input_tokens + session.output_tokens)),
        h('td', { class: 'num' }, fmtUsd(session.cost_usd)),
      ),
    ),
  );
  if (focused) body.querySelector(`tr[data-id="${CSS.escape(focused)}"] a.session-link`)?.focus();
}

function setSort(key) {
  if (state.sort === key) state.order = state.order === 'desc' ? 'asc' : 'desc';
  else [state.sort, state.order] = [key, 'desc'];
  state.offset = 0;
  showSort();
  void refresh();
}

function showSort() {
  for (const th of document.querySelectorAll('th[data-sort]')) {
    const active = th.getAttribute('data-sort') === state.sort;
    if (active) th.setAttribute('aria-sort', state.order === 'asc' ? 'ascending' : 'descending');
    else th.removeAttribute('aria-sort');
  }
}

// ---------------------------------------------------------------------------------------------------------
// One session

async function loadDetail(id, signal) {
  const result = await api(`/sessions/${encodeURIComponent(id)}`, { signal });
  if (signal.aborted) return;
  const note = $('detail-note');
  const end = /** @type {HTMLButtonElement} */ ($('end-session'));
  if (result.status === 404) {
    note.hidden = false;
    note.textContent = 'This gateway does not know this session: it ended, expired, or was seen by another replica.';
    end.disabled = true;
    $('detail-summary').replaceChildren();
    drawLineage(null);
    drawTimeline([]);
    drawConversation(null, 0);
    return;
  }
  if (result.status !== 200 || !result.body) throw new Error(problem(result));
  const { session, requests, conversation, timeline_source: source } = result.body;
  end.disabled = !session;
  note.hidden = !!session;
  note.textContent = session ? '' : 'This session has ended; its recorded requests are shown.';
  drawSummary(session, requests, source);
  drawLineage(result.body);
  drawTimeline(requests);
  drawConversation(conversation, requests.length);
}

function drawSummary(session, requests, source) {
  const rows = [];
  const add = (term, ...detail) => rows.push(h('div', {}, h('dt', {}, term), h('dd', {}, ...detail)));
  if (session) {
    add('Created', timeAgo(session.created_at));
    add('Last seen', timeAgo(session.last_seen));
    add('Requests', fmt(session.requests));
    add('Messages', fmt(session.messages));
    add('Tokens (in / out)', `${fmt(session.input_tokens)} / ${fmt(session.output_tokens)}`);
    add('Cost', fmtUsd(session.cost_usd));
    add('Rule', h('span', { class: `rule rule-${session.rule}` }, session.rule));
  }
  const failed = requests.filter(isError).length;
  add('Requests shown', `${fmt(requests.length)} (from ${source === 'postgres' ? 'the Postgres record' : "this gateway's memory"})`);
  if (failed) add('Failed', h('span', { class: 'bad' }, fmt(failed)));
  $('detail-summary').replaceChildren(...rows);
}

/**
 * Where the session sits among sub-agents: a link up to the session it works for, links down to its own
 * sub-agents, and the totals of the whole tree below it. Hidden for a session that has neither.
 */
function drawLineage(body) {
  const section = $('lineage');
  const parent = body?.parent_session_id ?? null;
  const children = body?.children ?? [];
  const tree = body?.tree;
  // Redrawn only when it changed, so a keyboard user's focus on a link survives the refresh.
  const signature = JSON.stringify([parent, children, tree]);
  if (signature === state.drawn.lineage) return;
  state.drawn.lineage = signature;
  section.hidden = !parent && children.length === 0;
  if (section.hidden) return;
  const up = $('lineage-parent');
  up.hidden = !parent;
  up.replaceChildren(...(parent ? ['Sub-agent of ', h('a', { href: sessionHref(parent), id: 'parent-link' }, h('code', {}, parent))] : []));
  const rows = [];
  const add = (term, detail) => rows.push(h('div', {}, h('dt', {}, term), h('dd', {}, detail)));
  // A session without sub-agents is a tree of one: its own figures are already in the summary above.
  if (tree && children.length > 0) {
    add('Sessions in tree', fmt(tree.sessions));
    add('Requests in tree', fmt(tree.requests));
    add('Tokens in tree (in / out)', `${fmt(tree.input_tokens)} / ${fmt(tree.output_tokens)}`);
    add('Cost of tree', fmtUsd(tree.cost_usd));
  }
  $('tree-totals').replaceChildren(...rows);
  const cut = $('tree-note');
  cut.hidden = !tree?.truncated;
  cut.textContent = tree?.truncated ? 'The tree is larger than the gateway walks at once: its totals leave the deepest or last sub-agents out.' : '';
  $('children').replaceChildren(
    ...(children.length === 0
      ? [h('li', { class: 'note' }, 'No live sub-agents.')]
      : children.map((id) => h('li', {}, h('a', { href: sessionHref(id), class: 'child-link' }, h('code', {}, id))))),
  );
}

const isError = (r) => r.status >= 400 || r.status === 0 || !!r.failure;

function describe(r, index) {
  const tokens = r.input_tokens === null && r.output_tokens === null ? 'tokens not reported' : `${fmt(r.input_tokens)} in / ${fmt(r.output_tokens)} out tokens`;
  const parts = [`#${index + 1} ${r.method} ${r.path}`, r.model, `status ${r.status}${r.failure ? ` (${r.failure})` : ''}`, fmtDuration(r.duration_ms)];
  if (r.ttfb_ms !== null && r.ttfb_ms !== undefined) parts.push(`first byte ${fmtDuration(r.ttfb_ms)}`);
  parts.push(tokens, r.stream ? 'streamed' : 'JSON');
  if (r.rule) parts.push(`rule ${r.rule}`);
  return parts.filter(Boolean).join(' · ');
}

/** A round step for axis ticks: 1, 2 or 5 times a power of ten, about `count` ticks over `span`. */
function tickStep(span, count) {
  const raw = span / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= raw) ?? raw;
}

function drawTimeline(requests) {
  const box = $('timeline');
  const width = Math.max(480, Math.round(box.clientWidth || 800));
  const signature = `${width}|${JSON.stringify(requests)}`;
  if (signature === state.drawn.timeline) return;
  state.drawn.timeline = signature;
  drawRequestTable(requests);
  if (requests.length === 0) {
    box.replaceChildren(h('p', { class: 'note' }, 'No requests recorded for this session.'));
    return;
  }

  const starts = requests.map((r) => Date.parse(r.time));
  const t0 = Math.min(...starts);
  const span = Math.max(1, ...requests.map((r, i) => starts[i] - t0 + r.duration_ms));
  const lane = 26;
  const axis = 26;
  const left = 92;
  const right = 12;
  const plot = width - left - right;
  const height = axis + requests.length * lane + 6;
  const x = (ms) => left + (ms / span) * plot;

  const ticks = [];
  const step = tickStep(span, Math.floor(plot / 110));
  for (let t = 0; t <= span + step / 1000; t += step) {
    ticks.push(
      s('line', { class: 'tick', x1: x(t), x2: x(t), y1: axis - 6, y2: height }),
      // The first and last labels are anchored inward, so they are not cut at the chart's edges.
      s('text', { class: 'tick-label', x: x(t), y: axis - 10, 'text-anchor': t === 0 ? 'start' : x(t) > width - 40 ? 'end' : 'middle' }, `+${fmtDuration(t)}`),
    );
  }

  const errors = requests.filter(isError).length;
  const bars = requests.map((r, i) => {
    const y = axis + i * lane + 4;
    const start = x(starts[i] - t0);
    const length = Math.max(3, (r.duration_ms / span) * plot);
    const tokens = (r.input_tokens ?? 0) + (r.output_tokens ?? 0);
    const label = `${r.failure ?? r.status} · ${fmtDuration(r.duration_ms)}${r.input_tokens !== null || r.output_tokens !== null ? ` · ${fmt(tokens)} tok` : ''}`;
    const labelWidth = label.length * 6.6 + 8;
    // The label goes after the bar when it fits, else before it, else inside it.
    let text;
    if (start + length + labelWidth < width) text = s('text', { class: 'bar-label', x: start + length + 6, y: y + 13 }, label);
    else if (start - labelWidth > left) text = s('text', { class: 'bar-label', x: start - 6, y: y + 13, 'text-anchor': 'end' }, label);
    else text = s('text', { class: 'bar-label inside', x: start + length - 6, y: y + 13, 'text-anchor': 'end' }, label);
    const ttfb = r.ttfb_ms !== null && r.ttfb_ms !== undefined && r.ttfb_ms < r.duration_ms ? s('rect', { class: 'ttfb', x: start, y, width: Math.max(1, (r.ttfb_ms / span) * plot), height: 18, rx: 3 }) : null;
    return s(
      'g',
      { class: `bar${isError(r) ? ' error' : ''}${r.stream ? ' stream' : ''}`, 'data-request-id': r.request_id },
      s('title', {}, describe(r, i)),
      s('text', { class: 'lane-label', x: 4, y: y + 13 }, `#${i + 1} ${fmtClock(r.time)}`),
      s('rect', { class: 'bar-body', x: start, y, width: length, height: 18, rx: 3 }),
      ...(ttfb ? [ttfb] : []),
      text,
    );
  });

  const svg = s(
    'svg',
    { class: 'timeline-chart', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': `${requests.length} requests over ${fmtDuration(span)}${errors ? `, ${errors} failed` : ''}. The table below lists them.` },
    ...ticks,
    ...bars,
  );
  box.replaceChildren(svg, h('p', { class: 'legend' }, h('span', { class: 'key key-bar' }, 'request (time to first byte darker)'), ' ', h('span', { class: 'key key-error' }, 'failed'), ' ', 'Hover a bar for details.'));
}

function drawRequestTable(requests) {
  $('requests-body').replaceChildren(
    ...requests.map((r, i) =>
      h(
        'tr',
        { class: isError(r) ? 'error' : undefined },
        h('td', {}, i + 1),
        h('td', {}, h('time', { datetime: r.time }, fmtClock(r.time))),
        h('td', {}, r.model ?? '–'),
        h('td', {}, r.failure ? `${r.status} (${r.failure})` : r.status),
        h('td', { class: 'num' }, fmtDuration(r.duration_ms)),
        h('td', { class: 'num' }, fmtDuration(r.ttfb_ms)),
        h('td', { class: 'num' }, fmt(r.input_tokens)),
        h('td', { class: 'num' }, fmt(r.output_tokens)),
        h('td', { class: 'num' }, fmtUsd(r.cost_usd)),
        h('td', {}, r.rule ?? '–'),
      ),
    ),
  );
}

const ROLE_NAMES = { user: 'User', assistant: 'Assistant', tool: 'Tool', system: 'System' };

function drawConversation(conversation, requestCount) {
  const signature = JSON.stringify(conversation);
  if (signature === state.drawn.conversation) return;
  state.drawn.conversation = signature;
  const list = $('conversation');
  if (!conversation || conversation.length === 0) {
    list.replaceChildren(
      h('li', { class: 'note' }, requestCount === 0 ? 'No conversation.' : 'No conversation recorded: the trace interceptor (with bodies) keeps what the page shows here.'),
    );
    return;
  }
  list.replaceChildren(
    ...conversation.map((message) => {
      const role = ROLE_NAMES[message.role] ? message.role : 'other';
      return h('li', { class: `bubble ${role}` }, h('p', { class: 'who' }, ROLE_NAMES[message.role] ?? message.role), h('p', { class: 'text' }, message.text));
    }),
  );
}

async function endSession() {
  if (state.route.view !== 'detail') return;
  const { id } = state.route;
  if (!window.confirm(`End session ${id}?\nIts next request will start a new session.`)) return;
  try {
    const result = await api(`/sessions/${encodeURIComponent(id)}`, { method: 'DELETE' });
    if (result.status !== 204) throw new Error(problem(result));
    setStatus(`Session ${id} ended.`);
    location.hash = '#/';
  } catch (err) {
    if (err instanceof SignedOut) return;
    const note = $('detail-note');
    note.hidden = false;
    note.textContent = `The session could not be ended: ${err instanceof Error ? err.message : String(err)}.`;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Routing: #/ is the list, #/sessions/<id> one session, so a session's page can be linked.

function route() {
  const match = /^#\/sessions\/(.+)$/.exec(location.hash);
  let id = null;
  if (match) {
    try {
      id = decodeURIComponent(match[1]);
    } catch {
      id = null;
    }
  }
  const wasDetail = state.route.view === 'detail';
  state.route = id ? { view: 'detail', id } : { view: 'list' };
  $('list-view').hidden = !!id;
  $('detail-view').hidden = !id;
  if (id) {
    state.lastOpened = id;
    state.drawn = { timeline: '', conversation: '', lineage: '' };
    $('detail-id').textContent = id;
    $('detail-summary').replaceChildren();
    $('lineage').hidden = true;
    $('lineage-parent').replaceChildren();
    $('children').replaceChildren();
    $('timeline').replaceChildren(h('p', { class: 'note' }, 'Loading…'));
    $('requests-body').replaceChildren();
    $('conversation').replaceChildren();
    $('detail-note').hidden = true;
    document.title = `Session ${id} · Cylestio Gateway`;
    // Focus follows the view change, so keyboard and screen reader users land on the new content.
    $('detail-title').focus();
  } else {
    document.title = 'Cylestio Gateway';
    if (wasDetail) {
      const row = document.querySelector(`#sessions-body tr[data-id="${CSS.escape(state.lastOpened)}"] a`);
      if (row instanceof HTMLElement) row.focus();
      else $('sessions-title').focus();
    }
  }
  void refresh();
}

// ---------------------------------------------------------------------------------------------------------
// Wiring

function start() {
  $('pause').addEventListener('click', () => setPaused(!state.paused));
  $('refresh-now').addEventListener('click', () => void refresh());
  $('end-session').addEventListener('click', () => void endSession());
  for (const th of document.querySelectorAll('th[data-sort]')) {
    th.querySelector('button')?.addEventListener('click', () => setSort(/** @type {string} */ (th.getAttribute('data-sort'))));
  }
  showSort();

  let debounce = 0;
  const filter = /** @type {HTMLInputElement} */ ($('filter'));
  const applyFilter = () => {
    const q = filter.value.trim().slice(0, 200);
    if (q === state.q) return;
    state.q = q;
    state.offset = 0;
    void refresh();
  };
  $('root-only').addEventListener('change', (event) => {
    state.rootOnly = /** @type {HTMLInputElement} */ (event.target).checked;
    state.offset = 0;
    void refresh();
  });
  filter.addEventListener('input', () => {
    clearTimeout(debounce);
    debounce = window.setTimeout(applyFilter, 250);
  });
  $('filter-form').addEventListener('submit', (event) => {
    event.preventDefault();
    clearTimeout(debounce);
    applyFilter();
  });

  $('prev').addEventListener('click', () => {
    state.offset = Math.max(0, state.offset - PAGE);
    void refresh();
  });
  $('next').addEventListener('click', () => {
    state.offset += PAGE;
    void refresh();
  });

  // A click anywhere on a row opens its session (the link inside is what the keyboard reaches).
  $('sessions-body').addEventListener('click', (event) => {
    const target = /** @type {Element} */ (event.target);
    if (target.closest('a')) return;
    const row = target.closest('tr');
    if (row?.dataset.id && !window.getSelection()?.toString()) location.hash = sessionHref(row.dataset.id);
  });

  document.addEventListener('visibilitychange', () => {
    if (document.hidden) {
      // Nobody is looking: no polling until the tab is shown again.
      clearTimeout(state.timer);
      state.inflight?.abort();
    } else if (!state.paused) {
      void refresh();
    }
  });

  let resize = 0;
  window.addEventListener('resize', () => {
    clearTimeout(resize);
    resize = window.setTimeout(() => {
      if (state.route.view === 'detail') void refresh();
    }, 200);
  });

  window.addEventListener('hashchange', route);
  route();
}

start();
