// The file backend across restarts of a real gateway process: stopped cleanly, and killed with SIGKILL.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFile, gatewayProcesses, type GatewayProcess } from '../helpers/gateway-process.js';
import { Conversation, GatewayClient } from './helpers.js';

const processes = gatewayProcesses();

async function fileGateway(directory: string, type: 'openai' | 'anthropic' = 'openai'): Promise<{ gateway: GatewayProcess; client: GatewayClient }> {
  const config = await configFile(
    `server: {host: 127.0.0.1, port: 0}\nllm: {type: ${type}, base_url: "${processes.simUrl()}", api_key: sk-test}\n` +
      `session:\n  persistence: {enabled: true, backend: file, connection: "${directory}", flush_interval: 0.05}\nlogging: {level: debug, format: json}\n`,
  );
  const gateway = await processes.start(config, type);
  return { gateway, client: new GatewayClient(gateway.asStack()) };
}

describe('file persistence across restarts', () => {
  it('keeps sessions through a clean restart (SIGTERM)', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'cylestio-sessions-'));
    const first = await fileGateway(directory, 'anthropic');
    const chat = new Conversation(first.client, { stream: true });
    await chat.say('hello before the restart', { reply: 'first reply' });
    await chat.say('one more before the restart', { reply: 'second reply' });
    expect(await first.gateway.stop('SIGTERM')).toBe(0);

    const second = await fileGateway(directory, 'anthropic');
    await chat.via(second.client).say('hello after the restart', { reply: 'third reply' });
    expect(new Set(chat.sessionIds).size).toBe(1);
    const metrics = (await (await fetch(`${second.gateway.url}/metrics`)).json()) as { persistence: Record<string, number>; sessions: Record<string, number> };
    expect(metrics.persistence).toMatchObject({ backend: 'file', restored: 1 });
    expect(metrics.sessions.total_created).toBe(0); // restored, not created anew
  });

  it('keeps what was flushed when killed with SIGKILL, and the store stays readable', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'cylestio-sessions-'));
    const first = await fileGateway(directory);
    const chats = Array.from({ length: 5 }, (_, i) => new Conversation(first.client, { stream: i % 2 === 0 }));
    for (const [i, chat] of chats.entries()) await chat.say(`conversation ${i} before the crash`, { reply: `reply ${i}` });
    // The journal is appended every flush_interval (50 ms): wait until it has every session, then crash.
    await expect
      .poll(async () => {
        const journal = await readFile(join(directory, 'journal.jsonl'), 'utf8').catch(() => '');
        return chats.every((chat) => journal.includes(chat.sessionIds[0]!));
      })
      .toBe(true);
    expect(await first.gateway.stop('SIGKILL')).toBeNull();

    const second = await fileGateway(directory);
    for (const [i, chat] of chats.entries()) await chat.via(second.client).say(`conversation ${i} after the crash`, { reply: `reply ${i} again` });
    for (const chat of chats) expect(new Set(chat.sessionIds).size).toBe(1);
    expect(new Set(chats.map((chat) => chat.sessionIds[0])).size).toBe(5);
  });
});
