// The command line as users run it: a real process, real flags, real signals.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { runCli, spawnCli } from '../helpers/cli-process.js';

const tempDir = () => mkdtemp(join(tmpdir(), 'cylestio-cli-'));

describe('one-shot commands', () => {
  it('--version prints the package version', async () => {
    const { code, stdout } = await runCli(['--version']);
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('--help lists every flag', async () => {
    const { stdout } = await runCli(['--help']);
    for (const flag of [
      '--base-url',
      '--type',
      '--api-key',
      '--port',
      '--host',
      '--config',
      '--generate-config',
      '--validate-config',
      '--log-level',
      '--log-format',
      '--log-file',
      '--version',
    ]) {
      expect(stdout).toContain(flag);
    }
  });

  it('--generate-config writes a file that --validate-config accepts', async () => {
    const file = join(await tempDir(), 'generated.yaml');
    const generated = await runCli(['--generate-config', file]);
    expect(generated.code).toBe(0);
    const validated = await runCli(['--validate-config', file]);
    expect(validated.code).toBe(0);
    expect(validated.stdout).toContain('configuration is valid');
  });

  it('--validate-config exits non-zero and names the path of every bad key', async () => {
    const file = join(await tempDir(), 'bad.yaml');
    await import('node:fs/promises').then((fs) => fs.writeFile(file, 'server:\n  prot: 1\nllm:\n  type: cohere\n'));
    const { code, stdout } = await runCli(['--validate-config', file]);
    expect(code).toBe(1);
    expect(stdout).toContain('server.prot: unknown key');
    expect(stdout).toContain('llm.type');
  });

  it('refuses to start without a provider', async () => {
    const { code, stderr } = await runCli([]);
    expect(code).not.toBe(0);
    expect(stderr).toContain('--base-url and --type are required');
  });
});

describe('running the gateway', () => {
  let sim: Simulator;
  let child: ChildProcess | undefined;
  afterEach(async () => {
    child?.kill('SIGKILL');
    await sim?.close();
  });

  it('serves, logs one JSON line per request with the session, and stops on SIGTERM', async () => {
    sim = await startSimulator();
    const logFile = join(await tempDir(), 'logs', 'gateway.log');
    child = spawnCli([
      '--base-url',
      sim.url,
      '--type',
      'openai',
      '--api-key',
      'sk-cli-secret',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--log-format',
      'json',
      '--log-level',
      'DEBUG',
      '--log-file',
      logFile,
    ]);
    const lines = createInterface({ input: child.stdout! });
    const logged: Record<string, any>[] = [];
    const waitFor = (predicate: (line: Record<string, any>) => boolean) =>
      new Promise<Record<string, any>>((resolve) => {
        const found = logged.find(predicate);
        if (found) return resolve(found);
        lines.on('line', (line) => {
          const parsed = JSON.parse(line);
          if (predicate(parsed)) resolve(parsed);
        });
      });
    lines.on('line', (line) => logged.push(JSON.parse(line)));

    const listening = await waitFor((line) => line.msg === 'cylestio gateway listening');
    const response = await fetch(`${listening.address}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hello cli' }] }),
    });
    expect(response.status).toBe(200);
    const session = response.headers.get('x-session-id');
    const requestLine = await waitFor((line) => line.msg === 'request');
    expect(requestLine).toMatchObject({ method: 'POST', path: '/v1/chat/completions', status: 200, session_id: session });
    expect(requestLine.duration_ms).toEqual(expect.any(Number));
    expect(sim.requests[0].headers.authorization).toBe('Bearer sk-cli-secret');

    const exited = new Promise<number | null>((resolve) => child!.on('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const fileText = await readFile(logFile, 'utf8');
    expect(fileText).toContain(session!);
    expect(fileText).not.toContain('sk-cli-secret');
  });
});
