// A strict parser for the Prometheus text format (0.0.4) and OpenMetrics 1.0 text, used to check what the
// gateway renders. No parser ships with prom-client and none is installed, so this follows the published
// grammar character by character and throws on anything a scraper could reject, rather than matching
// lines with loose regexes: `name{label="escaped \" value",…} value [timestamp]`.

export type Format = 'prometheus' | 'openmetrics';
export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
export interface ParsedFamily {
  name: string;
  type: string;
  help: string;
  samples: ParsedSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FLOAT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const TYPES: Record<Format, string[]> = {
  prometheus: ['counter', 'gauge', 'histogram', 'summary', 'untyped'],
  openmetrics: ['counter', 'gauge', 'histogram', 'summary', 'unknown', 'info', 'stateset', 'gaugehistogram'],
};
/** Sample-name suffixes each family type allows, per format. */
const SUFFIXES: Record<Format, Record<string, string[]>> = {
  prometheus: { counter: [''], gauge: [''], untyped: [''], histogram: ['_bucket', '_sum', '_count'], summary: ['', '_sum', '_count'] },
  openmetrics: {
    counter: ['_total', '_created'],
    gauge: [''],
    unknown: [''],
    histogram: ['_bucket', '_sum', '_count', '_created'],
    summary: ['', '_sum', '_count', '_created'],
  },
};

function parseValue(token: string, where: string): number {
  if (token === 'NaN') return Number.NaN;
  if (token === '+Inf' || token === 'Inf') return Number.POSITIVE_INFINITY;
  if (token === '-Inf') return Number.NEGATIVE_INFINITY;
  if (!FLOAT.test(token)) throw new Error(`${where}: bad value "${token}"`);
  return Number(token);
}

/** `name{a="x",b="y"} value [timestamp]`, scanned left to right. */
function parseSample(line: string, where: string): ParsedSample {
  let i = 0;
  while (i < line.length && line[i] !== '{' && line[i] !== ' ') i++;
  const name = line.slice(0, i);
  if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name "${name}"`);
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    while (line[i] !== '}') {
      const eq = line.indexOf('=', i);
      if (eq < 0) throw new Error(`${where}: label without "="`);
      const label = line.slice(i, eq);
      if (!LABEL_NAME.test(label)) throw new Error(`${where}: bad label name "${label}"`);
      if (label in labels) throw new Error(`${where}: duplicate label "${label}"`);
      if (line[eq + 1] !== '"') throw new Error(`${where}: label value not quoted`);
      let value = '';
      for (i = eq + 2; ; i++) {
        if (i >= line.length) throw new Error(`${where}: unterminated label value`);
        const c = line[i];
        if (c === '"') break;
        if (c === '\\') {
          const next = line[++i];
          if (next === 'n') value += '\n';
          else if (next === '\\' || next === '"') value += next;
          else throw new Error(`${where}: bad escape "\\${next}"`);
        } else value += c;
      }
      labels[label] = value;
      i++; // past the closing quote
      if (line[i] === ',') i++;
      else if (line[i] !== '}') throw new Error(`${where}: expected "," or "}" after a label`);
    }
    i++; // past "}"
  }
  if (line[i] !== ' ') throw new Error(`${where}: expected one space before the value`);
  const rest = line.slice(i + 1).split(' ');
  if (rest.length > 2 || rest.some((token) => token === '')) throw new Error(`${where}: expected "value [timestamp]"`);
  if (rest[1] !== undefined) parseValue(rest[1], where);
  return { name, labels, value: parseValue(rest[0], where) };
}

export function parseExposition(text: string, format: Format): Map<string, ParsedFamily> {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (format === 'openmetrics' && lines.pop() !== '# EOF') throw new Error('OpenMetrics text must end with "# EOF"');
  const families = new Map<string, ParsedFamily>();
  const seen = new Set<string>();
  let current: ParsedFamily | null = null;
  const family = (name: string): ParsedFamily => {
    let f = families.get(name);
    if (!f) {
      f = { name, type: '', help: '', samples: [] };
      families.set(name, f);
    } else if (f !== current) throw new Error(`family ${name} is not contiguous`);
    current = f;
    return f;
  };

  lines.forEach((line, index) => {
    const where = `line ${index + 1}`;
    if (line === '') {
      if (format === 'openmetrics') throw new Error(`${where}: empty line in OpenMetrics`);
      return;
    }
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta;
      if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad family name "${name}"`);
      const f = family(name);
      if (kind === 'TYPE') {
        if (f.type !== '' || f.samples.length) throw new Error(`${where}: TYPE repeated or after samples`);
        if (!TYPES[format].includes(rest)) throw new Error(`${where}: unknown type "${rest}"`);
        f.type = rest;
      } else f.help = rest.replace(/\\(n|\\)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
      return;
    }
    if (line.startsWith('#')) {
      if (format === 'openmetrics') throw new Error(`${where}: comment in OpenMetrics`);
      return;
    }
    const sample = parseSample(line, where);
    const owner = current as ParsedFamily | null;
    const suffix = owner && sample.name.startsWith(owner.name) ? sample.name.slice(owner.name.length) : null;
    if (!owner || owner.type === '' || suffix === null || !(SUFFIXES[format][owner.type] ?? ['']).includes(suffix)) {
      throw new Error(`${where}: sample ${sample.name} outside its family (current: ${owner?.name ?? 'none'})`);
    }
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (seen.has(key)) throw new Error(`${where}: duplicate series ${key}`);
    seen.add(key);
    owner.samples.push(sample);
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

/** Buckets ascend by `le`, counts never drop, `+Inf` is there and equals `_count`. */
function checkHistogram(f: ParsedFamily): void {
  const seriesKey = (labels: Record<string, string>) =>
    JSON.stringify(
      Object.entries(labels)
        .filter(([k]) => k !== 'le')
        .sort(),
    );
  const buckets = new Map<string, Array<[number, number]>>();
  for (const s of f.samples.filter((x) => x.name === `${f.name}_bucket`)) {
    if (!('le' in s.labels)) throw new Error(`${f.name}: bucket without le`);
    const list = buckets.get(seriesKey(s.labels)) ?? [];
    list.push([parseValue(s.labels.le, f.name), s.value]);
    buckets.set(seriesKey(s.labels), list);
  }
  for (const [key, list] of buckets) {
    list.forEach(([le, count], i) => {
      if (i > 0 && (le <= list[i - 1][0] || count < list[i - 1][1])) throw new Error(`${f.name}${key}: buckets out of order`);
    });
    const count = f.samples.find((s) => s.name === `${f.name}_count` && seriesKey(s.labels) === key);
    if (list.at(-1)?.[0] !== Number.POSITIVE_INFINITY || count?.value !== list.at(-1)?.[1])
      throw new Error(`${f.name}${key}: +Inf bucket missing or not equal to _count`);
  }
}
