import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { spawnTethered } from './tethered-spawn.js';

/** `node … src/cli.ts` as the tests run it: through tsx (by its resolved URL, so any working directory
 * works), from the sources. */
export const CLI_ARGS = ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href, join(import.meta.dirname, '../../src/cli.ts')];
/** Only what a shell would need: no OPENAI_API_KEY or other settings leaking in from the test runner. */
export const CLEAN_ENV = { PATH: process.env.PATH, HOME: process.env.HOME };

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts the CLI with `args`, output piped; killed if this process dies first (a gateway keeps running). */
export function spawnCli(args: string[], options: { cwd?: string } = {}): ChildProcess {
  return spawnTethered(process.execPath, [...CLI_ARGS, ...args], { env: CLEAN_ENV, cwd: options.cwd }, 'SIGKILL');
}

/** Runs the CLI with `args` to its exit (in `cwd` when given). */
export function runCli(args: string[], options: { cwd?: string } = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawnCli(args, options);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk) => (stdout += chunk));
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
