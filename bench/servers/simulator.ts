// Child process: the simulated OpenAI provider, the upstream for every benchmark target.
// record: false so memory stays flat over hundreds of thousands of requests.

import { startSimulator } from '../../src/simulator/index.js';
import { serveFromChild } from '../lib/server-process.js';

await serveFromChild('simulator', () => startSimulator({ port: 0, host: '127.0.0.1', record: false }));
