// How figures read in the table: UTC ISO times (the trace files' own clock, the same on every machine),
// durations with a unit that fits their size, texts on one line and cut to a width.

/** `2025-06-01T08:00:43Z`: UTC, to the second (the table); `show` keeps milliseconds. */
export function formatTime(iso: string, milliseconds = false): string {
  return milliseconds ? iso : iso.replace(/\.\d+Z$/, 'Z');
}

/** `850 ms`, `1.25 s`, `42.5 s`, `12m 05s`, `3h 07m`; `-` for none. */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return '-';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${String(seconds % 60).padStart(2, '0')}s`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}

/** Dollars to the cent once a figure reaches a dollar, else to four significant digits; `-` when not priced. */
export function formatCost(usd: number | null): string {
  return usd === null ? '-' : usd >= 1 ? `$${usd.toFixed(2)}` : `$${usd.toPrecision(4)}`;
}

/** The text on one line (runs of whitespace become one space), cut to `width` characters with `…`. */
export function clip(text: string, width: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  if (width <= 0 || line.length <= width) return line;
  // Code points, so a cut never splits a surrogate pair.
  const chars = Array.from(line);
  return chars.length <= width ? line : `${chars.slice(0, Math.max(0, width - 1)).join('')}…`;
}
