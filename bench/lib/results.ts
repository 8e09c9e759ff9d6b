// Machine-readable results go to <repo>/.bench-results/<section>.json (git-ignored), so runs can be
// compared over time without scraping the console output.

import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { compiled, repoRoot } from './build.js';

const RESULTS_DIR = new URL('.bench-results/', repoRoot);

/** Facts about the machine and runtime, needed to compare numbers across runs at all. */
export interface EnvironmentInfo {
  node: string;
  platform: string;
  cpus: number;
  cpu_model: string;
  total_memory_mb: number;
  /** `compiled` (npm run bench: what users run) or `tsx` (the sources, while working on them). */
  code: 'compiled' | 'tsx';
}

export function environmentInfo(): EnvironmentInfo {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: cpus.length,
    cpu_model: cpus[0]?.model ?? 'unknown',
    total_memory_mb: Math.round(os.totalmem() / 2 ** 20),
    code: compiled ? 'compiled' : 'tsx',
  };
}

export async function writeResults(section: string, data: unknown): Promise<string> {
  await mkdir(RESULTS_DIR, { recursive: true });
  const file = new URL(`${section}.json`, RESULTS_DIR);
  await writeFile(file, `${JSON.stringify(data, null, 2)}\n`);
  return fileURLToPath(file);
}
