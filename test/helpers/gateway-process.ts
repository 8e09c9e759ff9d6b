import type { ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { spawnCli } from './cli-process.js';
import type { Stack } from './stack.js';
import { tempDir } from './temp-dir.js';

/** A gateway running as its own process (the CLI), as replicas and restarts need. */
export interface GatewayProcess {
  url: string;
  /** Every JSON log line it wrote. */
  logs: Record<string, unknown>[];
  child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Sends the signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** What e2e clients need of a stack (url, wire format, logs for the session decisions). */
  asStack(): Stack;
}

export interface ProcessOutcome {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Writes `yaml` to a config file in a temp dir, returning its path. */
export async function configFile(yaml: string): Promise<string> {
  const path = join(tempDir('cylestio-gw-'), 'config.yaml');
  await writeFile(path, yaml);
  return path;
}

/** Starts the CLI on `config` and resolves once it listens; rejects with its output when it exits first. */
export function startGatewayProcess(config: string, type: 'openai' | 'anthropic' = 'openai'): Promise<GatewayProcess> {
  const child = spawnCli(['--config', config]);
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    void exited.then((code) => reject(new Error(`gateway exited (${code}) before listening: ${stderr}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      logs.push(parsed);
      if (parsed.msg !== 'cylestio gateway listening') return;
      const url = parsed.address as string;
      const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        return exited;
      };
      resolve({ url, logs, child, exited, stop, asStack: () => ({ url, logs, config: { llm: { type } } }) as unknown as Stack });
    });
  });
}

/** Runs the CLI to its exit (a gateway that must refuse to start). */
export function runGatewayToExit(config: string): Promise<ProcessOutcome> {
  const child = spawnCli(['--config', config]);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

/**
 * For a test file of gateway processes: one simulated provider for the file, and every gateway started
 * through `start` killed after each test. Registers its own vitest hooks.
 */
export function gatewayProcesses(): { simUrl(): string; start(config: string, type?: 'openai' | 'anthropic'): Promise<GatewayProcess> } {
  let sim: Simulator | undefined;
  const running: GatewayProcess[] = [];
  beforeAll(async () => {
    sim = await startSimulator();
  });
  afterAll(() => sim?.close());
  afterEach(async () => {
    await Promise.all(running.splice(0).map((gateway) => gateway.stop('SIGKILL')));
  });
  return {
    simUrl: () => sim!.url,
    async start(config, type = 'openai') {
      const started = await startGatewayProcess(config, type);
      running.push(started);
      return started;
    },
  };
}
