// Every process a test starts (redis-server, postgres, initdb, gateway processes) must stop with the test
// run, even when vitest tears a worker down with a signal or the worker dies mid-test: no 'exit' handler
// runs then, so leaked servers piled up run after run. A child test run of a fixture that starts one of each
// and stops none proves it: afterwards no process of that run is left.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAlive, processesOfSession, type Proc } from './fixtures/processes.js';
import { tempDir } from './temp-dir.js';
import { spawnTethered } from './tethered-spawn.js';

interface Report {
  worker: number;
  tempRoot: string;
  servers: { sharedRedis: number; freshRedis: number; gateway: number };
  session: Proc[];
}

const vitest = join(import.meta.dirname, '../../node_modules/vitest/vitest.mjs');
const config = join(import.meta.dirname, 'fixtures/vitest.config.ts');

/** Runs the fixture in a child vitest, its own session leader, to its end. */
async function childRun(end: 'normal' | 'SIGKILL'): Promise<{ session: number; code: number | null; output: string; report: Report }> {
  const reportFile = join(tempDir('cylestio-fixture-'), 'report.json');
  const env: NodeJS.ProcessEnv = { ...process.env, CYLESTIO_FIXTURE_END: end, CYLESTIO_FIXTURE_REPORT: reportFile };
  // The child run starts servers of its own, as a run without CI's servers does.
  for (const name of ['CYLESTIO_TEST_REDIS_URL', 'CYLESTIO_TEST_POSTGRES_URL', 'CYLESTIO_TEST_TMPDIR']) delete env[name];
  // Detached: a new session, so all it starts can be found by session id however they are reparented.
  const child = spawnTethered(process.execPath, [vitest, 'run', '--config', config], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] }, 'SIGKILL');
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (!existsSync(reportFile)) throw new Error(`the fixture wrote no report (exit ${code}):\n${output}`);
  return { session: child.pid!, code, output, report: JSON.parse(readFileSync(reportFile, 'utf8')) as Report };
}

function expectEveryKindStarted(report: Report): void {
  const commands = report.session.map((proc) => proc.cmd);
  expect(commands.filter((cmd) => cmd.startsWith('redis-server')).length).toBe(2); // the run's and the fresh one
  expect(commands.some((cmd) => /postgres/.test(cmd))).toBe(true);
  expect(commands.some((cmd) => cmd.includes('src/cli.ts'))).toBe(true);
  for (const pid of Object.values(report.servers)) expect(report.session.map((proc) => proc.pid)).toContain(pid);
}

/** Whatever of the run still runs: its session, and the servers it named (in case one left the session). */
function survivors(session: number, report: Report): Proc[] {
  const named = Object.entries(report.servers)
    .filter(([, pid]) => isAlive(pid))
    .map(([cmd, pid]) => ({ pid, cmd }));
  return [...processesOfSession(session), ...named];
}

describe.skipIf(!existsSync('/proc/self/stat'))('processes started by tests', () => {
  it('are all gone after a run that ends normally (workers torn down with SIGTERM)', async () => {
    const run = await childRun('normal');
    expect(run.code, run.output).toBe(0);
    expectEveryKindStarted(run.report);
    // The kernel signals the children as their parent dies; they take a moment to exit.
    await expect.poll(() => survivors(run.session, run.report), { timeout: 10_000 }).toEqual([]);
    // Removed by a shell once the run's main process is gone: it may still be retrying a busy dir.
    await expect.poll(() => existsSync(run.report.tempRoot), { timeout: 10_000 }).toBe(false);
  }, 120_000);

  it('are all gone after a worker is killed mid-test, before any cleanup of its own', async () => {
    const run = await childRun('SIGKILL');
    expect(run.code, run.output).not.toBe(0);
    expectEveryKindStarted(run.report);
    await expect.poll(() => survivors(run.session, run.report), { timeout: 10_000 }).toEqual([]);
    // Removed by a shell once the run's main process is gone: it may still be retrying a busy dir.
    await expect.poll(() => existsSync(run.report.tempRoot), { timeout: 10_000 }).toBe(false);
  }, 120_000);
});
