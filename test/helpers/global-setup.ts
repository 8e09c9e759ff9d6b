import { startRedis, type RedisServer } from './redis-server.js';
import { runTempRoot } from './temp-dir.js';

/**
 * Vitest globalSetup: what the whole test run shares, set up once in the main process and torn down after
 * the last file. Workers read it from the environment (set here, before they are forked):
 * - CYLESTIO_TEST_TMPDIR: one dir for the helpers' temp dirs, removed at the end (even an abrupt one);
 * - CYLESTIO_TEST_REDIS_URL: one redis-server for the run (tests isolate by key prefix), unless CI gave one.
 * Like every test server, this Redis is tethered to the process that started it (this one): even a run
 * that dies without its teardown leaves no redis-server behind.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const temp = runTempRoot();
  process.env.CYLESTIO_TEST_TMPDIR = temp.root;
  let redis: RedisServer | undefined;
  if (!process.env.CYLESTIO_TEST_REDIS_URL) {
    try {
      redis = await startRedis({ fresh: true });
      process.env.CYLESTIO_TEST_REDIS_URL = redis.url;
    } catch (err) {
      // No redis-server here: the tests that need one fail with their own error; the others still run.
      console.warn(`no shared redis-server for this run: ${(err as Error).message}`);
    }
  }
  return async () => {
    await redis?.stop();
    await temp.remove();
  };
}
