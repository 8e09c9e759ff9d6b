// The session guide's own shell recipes, run for real (grep, jq, sort, uniq, awk) on the traces of both
// layouts: segments (`traces/*.jsonl`, jq reads JSON lines natively) and files (`traces/*.json`).
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { expect, it } from 'vitest';
import { startStack } from '../helpers/stack.js';

const sh = async (cwd: string, script: string) => (await promisify(execFile)('bash', ['-c', script], { cwd })).stdout.trim();

it.each([
  { layout: 'segments', glob: 'traces/*.jsonl', filesOfSession: '1' },
  { layout: 'files', glob: 'traces/*.json', filesOfSession: '2' },
])('answers grep, jq and awk recipes from the guide ($glob)', async ({ layout, glob, filesOfSession }) => {
  const dir = await mkdtemp(join(tmpdir(), 'cylestio-recipes-'));
  const stack = await startStack({ interceptors: [{ type: 'trace', config: { directory: join(dir, 'traces'), layout } }] });
  const client = new OpenAI({ apiKey: 'sk-x', baseURL: `${stack.url}/v1`, maxRetries: 0 });
  const first = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'one' }] }).withResponse();
  const session = first.response.headers.get('x-session-id')!;
  await client.chat.completions.create({
    model: 'gpt-4o',
    messages: [{ role: 'user', content: 'one' }, first.data.choices[0].message, { role: 'user', content: 'two' }],
  });
  await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'elsewhere' }] });
  await stack.close();

  // The files holding the session (one segment holds both of its traces), and the traces themselves.
  expect(await sh(dir, `grep -l "${session}" ${glob} | wc -l`)).toBe(filesOfSession);
  expect(await sh(dir, `grep -h "${session}" ${glob} | wc -l`)).toBe('2');
  const counts = await sh(dir, `jq -r '.session_id' ${glob} | sort | uniq -c | sort -nr`);
  expect(counts.split('\n').map((line) => line.trim().split(/\s+/))).toEqual([
    ['2', session],
    ['1', expect.stringMatching(/^sess_/)],
  ]);
  const means = await sh(
    dir,
    `jq -r '[.session_id, .response.duration_ms] | @tsv' ${glob} | awk '{sum[$1]+=$2; count[$1]++} END {for (s in sum) print s, sum[s]/count[s]}'`,
  );
  expect(means.split('\n')).toHaveLength(2);
  expect(
    Number(
      means
        .split('\n')
        .find((line) => line.startsWith(session))!
        .split(' ')[1],
    ),
  ).toBeGreaterThan(0);
});
