// Where the benchmark runs from. `npm run bench` compiles src/ and bench/ into .bench-build/ and runs the
// JavaScript, as `npm start` runs the gateway (no TypeScript loader: its start-up memory and per-closure
// work are not the product's); the sources can still be run directly through tsx while working on them.

/** Whether this harness is the compiled build; its servers and CLI then run compiled too. */
export const compiled = import.meta.url.endsWith('.js');

/** The repository's root, wherever the harness runs from (.bench-build/bench/lib/ or bench/lib/). */
export const repoRoot = new URL(compiled ? '../../../' : '../../', import.meta.url);
