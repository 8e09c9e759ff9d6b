#!/usr/bin/env node
/**
 * `npm run demo`: no API key, no network. Starts the simulated provider and one gateway per wire format,
 * then drives a few multi-turn conversations through them and prints which session each request landed in.
 */
import pino from 'pino';
import { configSchema } from './config/schema.js';
import { buildGateway } from './server/app.js';
import { startSimulator } from './simulator/index.js';

type Message = { role: string; content: unknown };

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, session: response.headers.get('x-session-id') ?? '-', json: (await response.json()) as any };
}

async function main(): Promise<void> {
  const simulator = await startSimulator();
  const log = pino({ level: 'warn' });
  const gateways = await Promise.all(
    (['openai', 'anthropic'] as const).map(async (type) => {
      const config = configSchema.parse({ llm: { type, base_url: simulator.url, api_key: 'sk-demo' }, logging: { level: 'warn' } });
      const gateway = await buildGateway(config, log);
      return { type, gateway, url: await gateway.app.listen({ host: '127.0.0.1', port: 0 }) };
    }),
  );
  const [openai, anthropic] = gateways;
  console.log(`simulated provider at ${simulator.url}`);
  console.log(`gateway (openai)    at ${openai.url}`);
  console.log(`gateway (anthropic) at ${anthropic.url}\n`);

  const show = (label: string, turn: number, status: number, session: string, text: string) =>
    console.log(`${label.padEnd(22)} turn ${turn}  ${status}  ${session}  ${text.slice(0, 60)}`);

  // Two OpenAI conversations asking the same questions, interleaved: they stay two sessions.
  const chats: Record<string, Message[]> = { 'openai alice': [], 'openai bob': [] };
  const questions = ['Hello, I am NAME', 'What can you do?', 'Thanks!'];
  for (let turn = 0; turn < questions.length; turn++) {
    for (const [label, history] of Object.entries(chats)) {
      history.push({ role: 'user', content: questions[turn].replace('NAME', label.split(' ')[1]) });
      const { status, session, json } = await post(`${openai.url}/v1/chat/completions`, { model: 'gpt-4o', messages: history });
      const reply = json.choices[0].message;
      history.push(reply);
      show(label, turn + 1, status, session, reply.content);
    }
  }

  // An Anthropic conversation with a system prompt.
  const messages: Message[] = [];
  for (const [turn, text] of ['Plan a trip to Lisbon', 'Make it three days', 'Add a food tour'].entries()) {
    messages.push({ role: 'user', content: text });
    const { status, session, json } = await post(
      `${anthropic.url}/v1/messages`,
      { model: 'claude-sonnet-4-5', max_tokens: 256, system: 'You are a travel agent.', messages },
      { 'anthropic-version': '2023-06-01' },
    );
    messages.push({ role: 'assistant', content: json.content });
    show('anthropic traveller', turn + 1, status, session, json.content[0].text);
  }

  // A client that names its own session keeps that name.
  const named = await post(
    `${openai.url}/v1/chat/completions`,
    { model: 'gpt-4o', messages: [{ role: 'user', content: 'Hi' }] },
    { 'x-session-id': 'my-app-session-42' },
  );
  show('openai named session', 1, named.status, named.session, named.json.choices[0].message.content);

  console.log(`\nthe provider received ${simulator.requests.length} requests; every one carried the gateway's configured key`);
  for (const { gateway } of gateways) await gateway.close();
  await simulator.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
