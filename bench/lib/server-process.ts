// Child side of the server processes (see children.ts): start the server, report its URL over IPC, and
// shut down on SIGTERM/SIGINT or when the parent goes away (IPC disconnect), so no server outlives a run.

export interface RunningServer {
  url: string;
  close(): Promise<void>;
}

const CLOSE_TIMEOUT_MS = 3_000;

export async function serveFromChild(name: string, start: () => Promise<RunningServer>): Promise<void> {
  if (!process.send) {
    console.error(`${name}: meant to be forked by bench/lib/children.ts (needs an IPC channel)`);
    process.exit(2);
  }
  let server: RunningServer;
  try {
    server = await start();
  } catch (err) {
    console.error(`${name}: failed to start:`, err);
    process.exit(1);
  }

  let closing = false;
  const shutdown = () => {
    if (closing) return;
    closing = true;
    // A close that hangs (a connection that never drains) must not keep the process alive.
    const timer = setTimeout(() => process.exit(0), CLOSE_TIMEOUT_MS);
    server
      .close()
      .catch((err: unknown) => console.error(`${name}: error while closing:`, err))
      .finally(() => {
        clearTimeout(timer);
        process.exit(0);
      });
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  process.on('disconnect', shutdown);

  // The parent asks for the memory in use: collected first (--expose-gc), so it is what is live.
  process.on('message', (message: unknown) => {
    if (typeof message !== 'object' || message === null || (message as { type?: string }).type !== 'memory') return;
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    gc?.();
    process.send?.({ type: 'memory', usage: process.memoryUsage() });
  });
  process.send({ type: 'ready', url: server.url });
}
