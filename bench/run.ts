// Entry of `npm run bench`: runs the benchmark sections in order. A section is a module exporting
// `run(): Promise<void>`; add new ones to SECTIONS. They are imported lazily, so a section that is not
// selected with BENCH_SECTIONS costs nothing. Server child processes are stopped after every section,
// whether it passed or threw, and the process exits explicitly so a stray handle cannot hang the run.

import { stopAllServers } from './lib/children.js';
import { benchSections } from './lib/env.js';

interface Section {
  name: string;
  description: string;
  load(): Promise<{ run(): Promise<void> }>;
}

const SECTIONS: Section[] = [
  {
    name: 'proxy',
    description: 'gateway vs bare node proxy vs direct upstream: latency overhead and throughput',
    load: () => import('./proxy.js'),
  },
  {
    name: 'sessions',
    description: 'session engine alone: detection time per request beside JSON.parse, memory per session, lookup at scale',
    load: () => import('./sessions.js'),
  },
  {
    name: 'ratelimit',
    description: 'rate_limit interceptor (memory and Redis counters) vs none: throughput ratio',
    load: () => import('./ratelimit.js'),
  },
  {
    name: 'traces-cli',
    description: "cylestio-gateway sessions on 100,000 trace files vs the guide's jq pipeline (about 10 minutes)",
    load: () => import('./traces-cli.js'),
  },
  {
    name: 'tracing',
    description: 'trace interceptor on vs off: throughput ratio',
    load: () => import('./tracing.js'),
  },
  {
    name: 'otel',
    description: 'OpenTelemetry export on (collector up, collector down) vs off: throughput ratio',
    load: () => import('./otel.js'),
  },
  {
    name: 'persistence',
    description: 'session stores: throughput and detection latency per backend beside memory',
    load: () => import('./persistence.js'),
  },
  {
    name: 'memory',
    description: 'whole-process memory per live session up to 100,000 sessions, and a soak of the production configuration (RSS, traces kept)',
    load: () => import('./memory.js'),
  },
  {
    name: 'production',
    description: 'the configuration users run (trace + file store + per-session limits), one-shot and conversations, vs the bare proxy',
    load: () => import('./production.js'),
  },
];

async function main(): Promise<number> {
  const wanted = benchSections();
  if (wanted) {
    const unknown = wanted.filter((name) => !SECTIONS.some((s) => s.name === name));
    if (unknown.length > 0) {
      console.error(`Unknown BENCH_SECTIONS entr${unknown.length > 1 ? 'ies' : 'y'}: ${unknown.join(', ')}`);
      console.error(`Available: ${SECTIONS.map((s) => s.name).join(', ')}`);
      return 2;
    }
  }
  const selected = wanted ? SECTIONS.filter((s) => wanted.includes(s.name)) : SECTIONS;

  let failed = 0;
  for (const section of selected) {
    console.log(`\n=== ${section.name}: ${section.description} ===\n`);
    const startedAt = performance.now();
    try {
      const mod = await section.load();
      await mod.run();
      console.log(`\n=== ${section.name} done in ${((performance.now() - startedAt) / 1000).toFixed(1)} s ===`);
    } catch (err) {
      failed++;
      console.error(`\n=== ${section.name} FAILED ===`);
      console.error(err);
    } finally {
      await stopAllServers();
    }
  }
  return failed > 0 ? 1 : 0;
}

// Ctrl-C: stop the servers before leaving (children also stop on their own when the IPC channel closes).
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping servers`);
    stopAllServers().finally(() => process.exit(130));
  });
}

main()
  .catch((err: unknown) => {
    console.error(err);
    return 1;
  })
  .then(async (code) => {
    await stopAllServers();
    process.exit(code);
  });
