// `cylestio-gateway sessions`: the trace directory read back as sessions. The options of `sessions` apply
// to its subcommands too (commander reads a parent's options anywhere on the line), so
// `sessions show ID --traces DIR --json` and `sessions --traces DIR show ID` mean the same.

import { Command, InvalidArgumentError, Option } from 'commander';
import { SORT_KEYS, SessionAggregator, sortRows, type SortKey } from './aggregate.js';
import { renderLineage, SessionForest, type SessionTally } from './lineage.js';
import { Progress } from './progress.js';
import { renderCsv, renderJson, renderTable } from './render.js';
import { defaultThreads, scanTraces, TraceDirectoryError, type ScanResult } from './scan.js';
import { renderShowData, renderShowText, showRows } from './show.js';
import type { TraceSummary } from './trace-summary.js';
import { RECIPES, SUMMARY_VIEW, type View } from './views.js';

interface SessionsOptions {
  traces: string;
  sort?: SortKey;
  reverse?: boolean;
  top?: number;
  json?: boolean;
  csv?: boolean;
  threads: number;
  fullParse?: boolean;
  progress: boolean;
  progressEvery: number;
}

/** Files named in the skipped-files warning; the rest are counted. */
const NAMED_REJECTIONS = 5;

function integer(min: number) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min) throw new InvalidArgumentError(`expected an integer >= ${min}`);
    return parsed;
  };
}

let stdoutGuarded = false;

function write(text: string): void {
  if (!stdoutGuarded) {
    stdoutGuarded = true;
    // `sessions --csv | head`: the reader leaving early is not an error worth a stack trace.
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  }
  process.stdout.write(text);
}

function warn(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** The skipped and ignored files, on stderr: they never stop the command. */
function reportScan(directory: string, scan: ScanResult): void {
  if (scan.rejectedCount > 0) {
    const lines = [`warning: skipped ${scan.rejectedCount} of ${scan.files} trace files in ${directory} that are not readable trace records:`];
    for (const rejection of scan.rejected.slice(0, NAMED_REJECTIONS)) lines.push(`  ${rejection.file}: ${rejection.reason}`);
    if (scan.rejectedCount > NAMED_REJECTIONS) lines.push(`  … and ${scan.rejectedCount - NAMED_REJECTIONS} more`);
    warn(lines.join('\n'));
  }
  if (scan.files === 0) warn(`no trace files (*.json, *.jsonl) in ${directory}${scan.ignored > 0 ? ` (${scan.ignored} other entries ignored)` : ''}`);
}

/** Scans the directory with the options' reading settings and progress, reporting bad files. */
async function scan(
  command: Command,
  options: SessionsOptions,
  onSummary: (summary: TraceSummary) => void,
  sessionId?: string,
  onTally?: (tally: SessionTally) => void,
): Promise<ScanResult> {
  const progress = new Progress(process.stderr, { every: options.progressEvery, enabled: options.progress });
  let result: ScanResult;
  try {
    result = await scanTraces({
      directory: options.traces,
      threads: options.threads,
      fullParse: options.fullParse === true,
      sessionId,
      tally: onTally !== undefined,
      onSummary,
      onTally,
      onProgress: (files) => progress.update(files),
    });
  } catch (err) {
    if (err instanceof TraceDirectoryError) command.error(`error: ${err.message}`, { exitCode: 1 });
    throw err;
  }
  progress.done(result.files);
  reportScan(options.traces, result);
  return result;
}

async function runView(view: View, command: Command): Promise<void> {
  const options = command.optsWithGlobals<SessionsOptions>();
  const aggregator = new SessionAggregator();
  await scan(command, options, (summary) => aggregator.add(summary));
  let rows = sortRows(aggregator.rows(), options.sort ?? view.sort, options.reverse === true);
  const top = options.top ?? view.top;
  if (top !== undefined) rows = rows.slice(0, top);
  if (options.json) write(renderJson(view.data, rows));
  else if (options.csv) write(renderCsv(view.data, rows));
  else if (rows.length > 0) write(renderTable(view.table, rows));
}

async function runShow(sessionId: string, command: Command): Promise<void> {
  const options = command.optsWithGlobals<SessionsOptions & { width: number }>();
  const summaries: TraceSummary[] = [];
  // Every session is tallied too: the session's parent and sub-agents are other sessions' traces.
  const forest = new SessionForest();
  await scan(
    command,
    options,
    (summary) => summaries.push(summary),
    sessionId,
    (tally) => forest.add(tally),
  );
  if (summaries.length === 0) command.error(`error: no trace of session ${sessionId} in ${options.traces}`, { exitCode: 1 });
  // Data formats keep the texts whole unless a width was asked for; the text form always cuts them.
  const widthGiven = command.getOptionValueSource('width') !== 'default';
  if (options.json || options.csv) {
    const rows = await showRows(options.traces, summaries, widthGiven ? options.width : null);
    write(renderShowData(options.json ? 'json' : 'csv', rows));
  } else {
    // A bare name may match several tenants' sessions (`name~tag`): each one's tree.
    const keys = [...new Set(summaries.map((summary) => summary.sessionId))].filter((key) => key !== null).sort();
    const lineage = keys.flatMap((key) => renderLineage(forest, key));
    write(renderShowText(sessionId, summaries, await showRows(options.traces, summaries, options.width), lineage));
  }
}

export function sessionsCommand(): Command {
  const sessions = new Command('sessions')
    .description("read trace files back as sessions: a table per session, the guide's recipes, one session's requests")
    .option('--traces <dir>', 'directory of trace files (*.json) and segments (*.jsonl)', './traces')
    .addOption(new Option('--sort <key>', "sort by, largest first (default: requests, or the recipe's own)").choices(SORT_KEYS))
    .option('--reverse', 'smallest first')
    .option('--top <n>', 'only the first n sessions', integer(1))
    .addOption(new Option('--json', 'JSON array on stdout').conflicts('csv'))
    .option('--csv', 'CSV with a header row on stdout')
    .option('--threads <n>', 'reader threads (0: read in the main thread)', integer(0), defaultThreads())
    .option('--full-parse', 'parse every file completely instead of only its small fields (same figures; slower on large bodies)')
    .option('--progress-every <n>', 'traces (files, segment lines) between progress lines when stderr is not a terminal', integer(1), 10_000)
    .option('--no-progress', 'no progress on stderr')
    .addHelpText('after', '\nProgress and warnings go to stderr; stdout carries only the table, JSON or CSV. See docs/sessions-cli.md.')
    .action(async (_options: unknown, command: Command) => runView(SUMMARY_VIEW, command));

  sessions
    .command('show')
    .description(
      "one session's requests in time order: time, status, duration, tokens, the user message and the reply; its parent and sub-agents with their totals",
    )
    .argument('<session-id>', 'the session id (sess_…)')
    .option('--width <n>', 'cut the user message and the reply to n characters (JSON and CSV: only when given)', integer(1), 100)
    .action(async (sessionId: string, _options: unknown, command: Command) => runShow(sessionId, command));

  for (const view of RECIPES) {
    sessions
      .command(view.name)
      .description(view.description)
      .action(async (_options: unknown, command: Command) => runView(view, command));
  }
  return sessions;
}
