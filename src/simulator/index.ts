// Public entry of the simulated LLM provider used by tests, the benchmark and the demo.
export { startSimulator } from './server.js';
export type { RecordedRequest, Simulator, SimulatorOptions } from './server.js';
