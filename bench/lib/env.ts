// Environment knobs shared by every bench section, validated up front so a typo fails before any
// server starts instead of silently running with a default.

function envNumber(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) throw new Error(`${name} must be a number >= ${min}, got "${raw}"`);
  return value;
}

/** BENCH_DURATION: seconds of each autocannon run (default 15). */
export function benchDuration(): number {
  return envNumber('BENCH_DURATION', 15, 1);
}

/** BENCH_SEQUENTIAL: measured one-at-a-time requests per target (default 2000). */
export function benchSequential(): number {
  return Math.floor(envNumber('BENCH_SEQUENTIAL', 2000, 1));
}

/** BENCH_SECTIONS: comma list of section names to run; undefined means all. */
export function benchSections(): string[] | undefined {
  const raw = process.env.BENCH_SECTIONS;
  if (raw === undefined || raw.trim() === '') return undefined;
  return raw
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
}
