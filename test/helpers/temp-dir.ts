import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A new temp dir for a test server or file. Under the test run's own dir when the run has one
 * (CYLESTIO_TEST_TMPDIR, from runTempRoot() in global-setup.ts), so a worker killed before its cleanup
 * leaves nothing behind on disk; else under the system temp dir.
 */
export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(process.env.CYLESTIO_TEST_TMPDIR || os.tmpdir(), prefix));
}

/**
 * The test run's temp dir, removed when this process ends however it ends: vitest's main process can die
 * without running its teardown (a worker killed mid-test ends the run with "Channel closed"). A small shell
 * in its own session holds a pipe from this process and removes the dir once the pipe closes, which the
 * kernel does when this process exits, or `remove()` does at a normal end.
 */
export function runTempRoot(): { root: string; remove(): Promise<void> } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'cylestio-test-run-'));
  chmodSync(root, 0o755); // run as root, the test Postgres runs as the `postgres` user and must reach its dir
  // Servers killed with their worker may still be writing as they shut down: retry a non-empty dir.
  const script = 'read -r _; for i in 1 2 3 4 5 6 7 8 9 10; do rm -rf "$1" 2>/dev/null && exit 0; sleep 0.2; done; rm -rf "$1"';
  const remover = spawn('sh', ['-c', script, 'sh', root], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
  remover.unref();
  (remover.stdin as unknown as { unref(): void }).unref();
  const done = new Promise<void>((resolve) => remover.once('exit', () => resolve()));
  return {
    root,
    async remove() {
      remover.ref();
      remover.stdin!.end();
      await done;
    },
  };
}
