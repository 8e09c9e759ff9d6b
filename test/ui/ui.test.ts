// The web page at /ui, driven in Debian's Chromium through playwright-core, after real SDK traffic.
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeStacks, Conversation, GatewayClient, openStack } from '../e2e/helpers.js';
import type { Stack } from '../helpers/stack.js';

/** Debian's package (installed by .ci/run); CHROMIUM_PATH points elsewhere on other systems. */
const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TOKEN = 'ui-admin-token';
/** A browser round trip plus the page's own refresh (every 5 s) can take a while on two slow cores. */
const SLOW = 60_000;

let browser: Browser;
let shots: string;

beforeAll(async () => {
  // A missing browser fails the suite: skipping would let the page ship untested.
  if (!existsSync(executablePath)) {
    throw new Error(`Chromium not found at ${executablePath}: install Debian's package (apt-get install -y chromium, as .ci/run does) or set CHROMIUM_PATH.`);
  }
  browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  shots = await mkdtemp(join(tmpdir(), 'cylestio-ui-shots-'));
}, SLOW);

afterAll(async () => {
  await browser?.close();
});

afterEach(closeStacks);

async function tracedStack(options: { server?: Record<string, unknown>; session?: Record<string, unknown> } = {}): Promise<Stack> {
  const directory = await mkdtemp(join(tmpdir(), 'cylestio-ui-traces-'));
  return openStack({ ...options, interceptors: [{ type: 'trace', config: { directory } }] });
}

/** Two conversations of real SDK traffic: one of three JSON turns, one of two streamed turns. */
async function traffic(stack: Stack): Promise<{ busy: Conversation; quiet: Conversation }> {
  const client = new GatewayClient(stack);
  const busy = new Conversation(client, { stream: false });
  const quiet = new Conversation(client, { stream: true });
  for (let i = 0; i < 3; i++) await busy.say(`busy turn ${i}`, { reply: `busy reply ${i}` });
  for (let i = 0; i < 2; i++) await quiet.say(`quiet <b>turn</b> ${i}`, { reply: `quiet reply ${i}` });
  // Trace files are written by a queue: the page is opened once the conversation can be read from them.
  await eventually(async () => {
    const response = await fetch(`${stack.url}/sessions/${busy.sessionIds[0]}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    return ((await response.json()) as { conversation: unknown[] | null }).conversation?.length;
  }).toBe(6);
  return { busy, quiet };
}

interface Watched {
  page: Page;
  /** Console errors and uncaught exceptions (a CSP violation is one). */
  problems: string[];
}

async function openPage(): Promise<Watched> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return { page, problems };
}

/** Polls longer than vitest's default second: the page fetches, then draws, on a busy two-core runner. */
function eventually<T>(actual: () => T) {
  return expect.poll(actual, { timeout: 10_000 });
}

const rowIds = (page: Page) => page.locator('#sessions-body tr').evaluateAll((rows) => rows.map((row) => (row as HTMLElement).dataset.id));

// ---------------------------------------------------------------------------------------------------------
// PNG checks: enough decoding (zlib + scanline filters) to count what a screenshot actually shows.

function pngPixels(png: Buffer): { width: number; height: number; colors: number; dominantShare: number } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const [depth, colorType] = [png[24], png[25]];
  expect(depth).toBe(8);
  const channels = colorType === 6 ? 4 : colorType === 2 ? 3 : 0;
  expect(channels, `PNG colour type ${colorType}`).toBeGreaterThan(0);
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    if (png.toString('latin1', at + 4, at + 8) === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + length));
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? pixels[y * stride + i - channels] : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + i] : 0;
      const c = y > 0 && i >= channels ? pixels[(y - 1) * stride + i - channels] : 0;
      const p = a + b - c;
      const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
      const predictor = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][filter];
      pixels[y * stride + i] = (line[i] + predictor) & 0xff;
    }
  }
  const counts = new Map<number, number>();
  for (let i = 0; i < pixels.length; i += channels) {
    const color = pixels.readUIntBE(i, 3);
    counts.set(color, (counts.get(color) ?? 0) + 1);
  }
  return { width, height, colors: counts.size, dominantShare: Math.max(...counts.values()) / (width * height) };
}

// ---------------------------------------------------------------------------------------------------------

describe('the /ui page', () => {
  it(
    'lists the sessions of real traffic, opens one: its timeline, its conversation; a screenshot; ends it',
    async () => {
      const stack = await tracedStack();
      const { busy, quiet } = await traffic(stack);
      const [busyId, quietId] = [busy.sessionIds[0]!, quiet.sessionIds[0]!];
      const { page, problems } = await openPage();

      const response = await page.goto(`${stack.url}/ui`);
      expect(response?.status()).toBe(200);
      expect(response?.headers()['content-security-policy']).toContain("default-src 'self'");

      // The table lists both sessions, by id, with their counters.
      await eventually(() => rowIds(page)).toEqual(expect.arrayContaining([busyId, quietId]));
      const busyRow = page.locator(`#sessions-body tr[data-id="${busyId}"]`);
      expect(await busyRow.locator('td').nth(3).textContent()).toBe('3'); // requests
      expect(await busyRow.locator('td').nth(4).textContent()).toBe('6'); // messages
      // Cost: the session's total as the API gives it, and the gateway's total in the overview.
      const costOfBusy = (await (await fetch(`${stack.url}/sessions/${busyId}`)).json()).session.cost_usd as number;
      expect(costOfBusy).toBeGreaterThan(0);
      expect(await busyRow.locator('td').nth(6).textContent()).toBe(`$${Number(costOfBusy.toPrecision(4))}`);
      await eventually(() => page.locator('#m-cost').textContent()).toMatch(/^\$0\.\d+$/);
      await eventually(() => page.locator('#m-total').textContent()).toBe('5');
      expect(await page.locator('#m-active').textContent()).toBe('2');
      expect(await page.locator('#spark polyline').count()).toBe(2);

      // A session's page: reached by clicking its row, linkable by its hash.
      await busyRow.locator('td').first().click();
      await page.waitForURL(`**/ui#/sessions/${busyId}`);
      expect(await page.locator('#detail-id').textContent()).toBe(busyId);
      const bars = page.locator('#timeline .bar');
      await eventually(() => bars.count()).toBe(3);
      expect(await bars.evaluateAll((all) => all.map((bar) => bar.getAttribute('data-request-id')))).toEqual(busy.turns.map((turn) => turn.requestId));
      // Bars sit on a time axis: each request starts to the right of the one before; every bar has a length.
      const boxes = await bars.evaluateAll((all) =>
        all.map((bar) => bar.querySelector('.bar-body')!.getBoundingClientRect()).map((r) => ({ x: r.x, width: r.width })),
      );
      for (let i = 1; i < boxes.length; i++) expect(boxes[i].x).toBeGreaterThan(boxes[i - 1].x);
      for (const box of boxes) expect(box.width).toBeGreaterThan(0);
      const tooltip = await bars.first().locator('title').textContent();
      expect(tooltip).toContain('status 200');
      expect(tooltip).toMatch(/\d+ in \/ \d+ out tokens/);
      expect(await page.locator('#timeline .bar.error').count()).toBe(0);
      expect(await page.locator('#requests-body tr').count()).toBe(3);

      // The conversation as chat bubbles: user on the right, assistant on the left.
      const bubbles = page.locator('#conversation .bubble');
      await eventually(() => bubbles.count()).toBe(6);
      expect(await page.locator('#conversation .bubble.user .text').allTextContents()).toEqual(['busy turn 0', 'busy turn 1', 'busy turn 2']);
      expect(await page.locator('#conversation .bubble.assistant .text').allTextContents()).toEqual(['busy reply 0', 'busy reply 1', 'busy reply 2']);
      const userBox = (await page.locator('#conversation .bubble.user').first().boundingBox())!;
      const assistantBox = (await page.locator('#conversation .bubble.assistant').first().boundingBox())!;
      expect(userBox.x).toBeGreaterThan(assistantBox.x);

      // A screenshot that shows something: a real PNG, larger than 100×100, with the page's many colours.
      const png = await page.screenshot({ fullPage: true, path: join(shots, 'session.png') });
      expect(png.length).toBeGreaterThan(10_000);
      const shot = pngPixels(png);
      expect(shot.width).toBeGreaterThan(100);
      expect(shot.height).toBeGreaterThan(100);
      expect(shot.colors).toBeGreaterThan(50);
      expect(shot.dominantShare).toBeLessThan(0.95);

      // The streamed session's messages are text, not markup.
      await page.goto(`${stack.url}/ui#/sessions/${quietId}`);
      await eventually(() => page.locator('#conversation .bubble.user .text').allTextContents()).toEqual(['quiet <b>turn</b> 0', 'quiet <b>turn</b> 1']);
      expect(await page.locator('#conversation b').count()).toBe(0);
      expect(await page.locator('#timeline .bar.stream').count()).toBe(2);

      // Ending it (after the confirmation) brings the list back without it.
      page.once('dialog', (dialog) => void dialog.accept());
      await page.locator('#end-session').click();
      await page.waitForURL('**/ui#/');
      await eventually(() => rowIds(page)).toEqual([busyId]);
      expect((await fetch(`${stack.url}/sessions/${quietId}`, { method: 'DELETE' })).status).toBe(404);

      expect(stack.sim.requests.map((request) => request.path)).toEqual(Array(5).fill('/v1/chat/completions'));
      expect(problems).toEqual([]);
      await page.close();
    },
    SLOW,
  );

  it(
    'is usable from the keyboard, sorts by a column and filters by id',
    async () => {
      const stack = await tracedStack();
      const { busy, quiet } = await traffic(stack);
      const [busyId, quietId] = [busy.sessionIds[0]!, quiet.sessionIds[0]!];
      const { page, problems } = await openPage();
      await page.goto(`${stack.url}/ui`);
      await eventually(() => rowIds(page)).toEqual([quietId, busyId]); // last seen first

      // Sorting: one click on "Requests" sorts descending, a second one ascending.
      const requestsHeader = page.locator('th[data-sort="requests"]');
      await requestsHeader.locator('button').click();
      await eventually(() => rowIds(page)).toEqual([busyId, quietId]);
      expect(await requestsHeader.getAttribute('aria-sort')).toBe('descending');
      await requestsHeader.locator('button').click();
      await eventually(() => rowIds(page)).toEqual([quietId, busyId]);
      expect(await requestsHeader.getAttribute('aria-sort')).toBe('ascending');

      // Filtering by part of an id.
      await page.locator('#filter').fill(busyId.slice(5, 15));
      await eventually(() => rowIds(page)).toEqual([busyId]);
      await page.locator('#filter').fill('');
      await eventually(() => rowIds(page)).toHaveLength(2);

      // Tab from the top of the page to the first session's link; Enter opens that session.
      await page.locator('body').focus();
      let focused: string | undefined;
      for (let presses = 0; presses < 40 && !focused; presses++) {
        await page.keyboard.press('Tab');
        focused = await page.evaluate(() =>
          document.activeElement?.classList.contains('session-link') ? document.activeElement.closest('tr')?.dataset.id : undefined,
        );
      }
      expect(focused).toBe(quietId);
      // Focus is visible: the focused link draws an outline.
      expect(await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)).not.toBe('none');
      await page.keyboard.press('Enter');
      await page.waitForURL(`**/ui#/sessions/${quietId}`);
      await eventually(() => page.locator('#timeline .bar').count()).toBe(2);
      // Focus moved to the session's heading, so the next Tab continues in the new view.
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('detail-title');

      expect(problems).toEqual([]);
      await page.close();
    },
    SLOW,
  );

  it(
    'shows sub-agent sessions under their run, hides them on request, and links parent, children and tree totals',
    async () => {
      const stack = await tracedStack();
      const client = new GatewayClient(stack);
      const lead = new Conversation(client, { stream: false });
      const run = { 'x-claude-code-session-id': 'ui-run' };
      await lead.say('Plan the work', { headers: run });
      await lead.say('Delegate it', { headers: run });
      const reader = new Conversation(client, { stream: true });
      await reader.say('Read the files', { headers: { ...run, 'x-claude-code-agent-id': 'r1' } });
      // Created after the sub-agent and seen last, so without nesting it would sit between run and sub-agent.
      const other = new Conversation(client, { stream: false });
      await other.say('Something else');
      const listed = (await (await fetch(`${stack.url}/sessions`)).json()).sessions as { id: string; name: string }[];
      const idOf = (name: string) => listed.find((view) => view.name === name)!.id;
      const [runId, readerId, otherId] = [idOf('ui-run'), idOf('ui-run:agent-r1'), other.sessionIds[0]!];
      const { page, problems } = await openPage();
      await page.goto(`${stack.url}/ui`);

      // Sorted by last seen, the sub-agent still follows its run, indented one level.
      await eventually(() => rowIds(page)).toEqual([otherId, runId, readerId]);
      const readerRow = page.locator(`#sessions-body tr[data-id="${readerId}"]`);
      expect(await readerRow.getAttribute('data-depth')).toBe('1');
      expect(await readerRow.getAttribute('data-parent')).toBe(runId);
      const linkX = async (id: string) => (await page.locator(`#sessions-body tr[data-id="${id}"] a.session-link`).boundingBox())!.x;
      expect(await linkX(readerId)).toBeGreaterThan((await linkX(runId)) + 10);
      expect(await readerRow.locator('th').textContent()).toContain(`sub-agent of ${runId}`);

      // Only the runs, then everything again.
      await page.getByLabel('Hide sub-agents').check();
      await eventually(() => rowIds(page)).toEqual([otherId, runId]);
      await page.getByLabel('Hide sub-agents').uncheck();
      await eventually(() => rowIds(page)).toHaveLength(3);

      // A sub-agent whose run is not on the page links up to it.
      await page.locator('#filter').fill('agent-r1');
      await eventually(() => rowIds(page)).toEqual([readerId]);
      const up = page.locator(`#sessions-body tr[data-id="${readerId}"] a.parent-link`);
      expect(await up.textContent()).toBe(runId);
      await up.click();
      await page.waitForURL(`**/ui#/sessions/${encodeURIComponent(runId)}`);

      // The run's page: its sub-agent as a link, and the totals of the whole tree.
      await eventually(() => page.locator('#children a').allTextContents()).toEqual([readerId]);
      expect(await page.locator('#lineage').isVisible()).toBe(true);
      expect(await page.locator('#lineage-parent').isVisible()).toBe(false);
      const tree = (await (await fetch(`${stack.url}/sessions/${encodeURIComponent(runId)}`)).json()).tree;
      expect(tree).toMatchObject({ sessions: 2, requests: 3, truncated: false });
      const totals = Object.fromEntries(
        await page
          .locator('#tree-totals > div')
          .evaluateAll((rows) => rows.map((row) => [row.querySelector('dt')!.textContent, row.querySelector('dd')!.textContent])),
      );
      expect(totals).toMatchObject({ 'Sessions in tree': '2', 'Requests in tree': '3', 'Cost of tree': `$${Number(tree.cost_usd.toPrecision(4))}` });
      expect(totals['Tokens in tree (in / out)']).toBe(`${tree.input_tokens} / ${tree.output_tokens}`);

      // Down to the sub-agent, and back up through its parent link.
      await page.locator('#children a').click();
      await page.waitForURL(`**/ui#/sessions/${encodeURIComponent(readerId)}`);
      await eventually(() => page.locator('#parent-link').textContent()).toBe(runId);
      expect(await page.locator('#lineage-parent').textContent()).toBe(`Sub-agent of ${runId}`);
      expect(await page.locator('#children').textContent()).toBe('No live sub-agents.');
      await page.screenshot({ fullPage: true, path: join(shots, 'sub-agent.png') });
      await page.locator('#parent-link').click();
      await page.waitForURL(`**/ui#/sessions/${encodeURIComponent(runId)}`);
      await eventually(() => page.locator('#children a').allTextContents()).toEqual([readerId]);

      // A session outside any tree shows no lineage at all.
      await page.goto(`${stack.url}/ui#/sessions/${otherId}`);
      await eventually(() => page.locator('#timeline .bar').count()).toBe(1);
      expect(await page.locator('#lineage').isVisible()).toBe(false);

      expect(problems).toEqual([]);
      await page.close();
    },
    SLOW,
  );

  it(
    'polls every few seconds, but not while paused or while the tab is hidden',
    async () => {
      const stack = await tracedStack();
      await traffic(stack);
      const { page, problems } = await openPage();
      // The page's timers run on a paused fake clock that only the test moves forward; fetches stay real.
      const start = Date.now();
      await page.clock.install({ time: start });
      await page.clock.pauseAt(start + 1000);
      const polls: string[] = [];
      page.on('request', (request) => {
        if (new URL(request.url()).pathname === '/metrics') polls.push(request.url());
      });
      await page.goto(`${stack.url}/ui`);
      await eventually(() => rowIds(page)).toHaveLength(2);
      expect(polls).toHaveLength(1);

      await page.clock.runFor(5_100);
      await eventually(() => polls.length).toBe(2);

      const setHidden = (hidden: boolean) =>
        page.evaluate((value) => {
          Object.defineProperty(document, 'hidden', { configurable: true, get: () => value });
          document.dispatchEvent(new Event('visibilitychange'));
        }, hidden);
      await setHidden(true);
      await page.clock.runFor(60_000);
      expect(polls).toHaveLength(2);
      await setHidden(false); // shown again: refreshed at once, then on the timer
      await eventually(() => polls.length).toBe(3);

      expect(await page.locator('#status').getAttribute('aria-live')).toBe('polite');
      await page.locator('#pause').click();
      expect(await page.locator('#pause').getAttribute('aria-pressed')).toBe('true');
      expect(await page.locator('#status').textContent()).toContain('paused');
      await page.clock.runFor(60_000);
      expect(polls).toHaveLength(3);
      await page.locator('#pause').click();
      await eventually(() => polls.length).toBe(4);
      expect(await page.locator('#status').textContent()).toContain('Live');

      expect(problems).toEqual([]);
      await page.close();
    },
    SLOW,
  );

  it(
    'asks for the admin token when one is set, then shows the sessions',
    async () => {
      const stack = await tracedStack({ server: { admin_token: TOKEN } });
      const { busy } = await traffic(stack);
      const { page } = await openPage();

      const denied = await page.goto(`${stack.url}/ui`);
      expect(denied?.status()).toBe(401);
      await page.getByLabel('Admin token').fill('not-the-token');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await eventually(() => page.locator('#error').textContent()).toContain('not the admin token');

      await page.getByLabel('Admin token').fill(TOKEN);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await eventually(() => rowIds(page)).toContain(busy.sessionIds[0]);
      expect(await page.locator('#m-total').textContent()).toBe('5');
      // Nothing the browser asked for (the sign-in page's favicon included) reached the provider.
      expect(stack.sim.requests.map((request) => request.path)).toEqual(Array(5).fill('/v1/chat/completions'));
      await page.screenshot({ path: join(shots, 'signed-in.png') });

      // The page's files are behind the token too.
      for (const path of ['/ui', '/ui/', '/ui/app.js', '/ui/app.css']) expect((await fetch(`${stack.url}${path}`)).status, path).toBe(401);
      await page.close();
    },
    SLOW,
  );

  it(
    'says so when session tracking is off',
    async () => {
      const stack = await openStack({ session: { enabled: false } });
      const { page, problems } = await openPage();
      await page.goto(`${stack.url}/ui`);
      await eventually(() => page.locator('#sessions-note').textContent()).toContain('Session tracking is off');
      expect(await page.locator('#m-active').textContent()).toBe('off');
      expect(stack.sim.requests).toHaveLength(0); // nothing the page asked for reached the provider
      expect(problems).toEqual([]);
      await page.close();
    },
    SLOW,
  );
});

describe('the page files', () => {
  it('are served with their types, no-cache, nosniff and a strict CSP; unknown files are 404, not proxied', async () => {
    const stack = await openStack();
    const expected: Record<string, string> = {
      '/ui': 'text/html',
      '/ui/': 'text/html',
      '/ui/app.js': 'text/javascript',
      '/ui/app.css': 'text/css',
      '/ui/favicon.svg': 'image/svg+xml',
      '/favicon.ico': 'image/svg+xml',
    };
    for (const [path, type] of Object.entries(expected)) {
      const response = await fetch(`${stack.url}${path}`);
      expect(response.status, path).toBe(200);
      expect(response.headers.get('content-type'), path).toContain(type);
      expect(response.headers.get('cache-control'), path).toBe('no-cache');
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("default-src 'self'");
      expect(csp, path).not.toContain('unsafe-inline');
      expect((await response.text()).length, path).toBeGreaterThan(100);
    }
    const html = await (await fetch(`${stack.url}/ui`)).text();
    // Nothing inline and nothing from elsewhere: every script and stylesheet is one of the files above.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)/);
    expect(html).not.toMatch(/<style/);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    const missing = await fetch(`${stack.url}/ui/nope.js`);
    expect(missing.status).toBe(404);
    expect(stack.sim.requests).toHaveLength(0);
  });
});
