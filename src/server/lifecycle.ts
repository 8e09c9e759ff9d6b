import type { Server } from 'node:http';
import type { Socket } from 'node:net';

export interface DrainOptions {
  /** Milliseconds to keep accepting new connections after the drain starts (load balancers catch up). */
  graceMs: number;
  /** Milliseconds in-flight requests get to finish once no new connection is accepted; then they are cut. */
  timeoutMs: number;
  /** Milliseconds an accepted connection may stay quiet before it is closed (it may carry a request on its way). */
  quietMs?: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * The HTTP server's readiness and its drain on shutdown. Node's own `server.close()` destroys every
 * connection that is not busy at that instant, including connections accepted a moment ago whose request is
 * still on the wire: those clients get a reset for a request they had sent. Here, a drain stops accepting
 * connections but answers every request that arrives on an accepted one (with `Connection: close`, so the
 * client moves on), closes connections only once they stay quiet, and waits for in-flight requests (long
 * streams included) up to a limit.
 */
export class ServerLifecycle {
  private readonly sockets = new Set<Socket>();
  private readonly busy = new Map<Socket, number>();
  private readonly quietSince = new Map<Socket, number>();
  private readonly bytesSeen = new Map<Socket, number>();
  private draining: Promise<void> | null = null;

  constructor(private readonly server: Server) {
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      this.quietSince.set(socket, Date.now());
      socket.once('close', () => {
        this.sockets.delete(socket);
        this.busy.delete(socket);
        this.quietSince.delete(socket);
        this.bytesSeen.delete(socket);
      });
    });
    // First among the request listeners, so every answer of the drain says `Connection: close`, even one
    // written synchronously by the framework.
    server.prependListener('request', (request, response) => {
      const socket = request.socket;
      this.busy.set(socket, (this.busy.get(socket) ?? 0) + 1);
      if (this.draining) response.shouldKeepAlive = false;
      response.once('close', () => {
        const left = (this.busy.get(socket) ?? 1) - 1;
        if (left > 0) this.busy.set(socket, left);
        else this.busy.delete(socket);
        this.quietSince.set(socket, Date.now());
      });
    });
  }

  /** False once a drain has started: `/ready` answers 503 so load balancers stop sending. */
  get ready(): boolean {
    return this.draining === null;
  }

  /** Stops taking connections and waits for the accepted ones to be answered; idempotent. */
  drain(options: DrainOptions): Promise<void> {
    this.draining ??= this.run(options);
    return this.draining;
  }

  private async run({ graceMs, timeoutMs, quietMs = 1000 }: DrainOptions): Promise<void> {
    // Idle keep-alive connections would otherwise be kept open until their next request: they get
    // `Connection: close` on that request, or are closed once quiet.
    if (graceMs > 0) await sleep(graceMs);
    // Node would destroy not-yet-busy connections here; the sweep below closes them once they are quiet.
    this.server.closeIdleConnections = () => {};
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const stoppedAt = Date.now();
    const sweep = setInterval(
      () => {
        const now = Date.now();
        for (const socket of this.sockets) {
          if (this.busy.has(socket)) continue;
          // Bytes arriving mean a request is on its way (its headers are not complete yet): not quiet.
          if (socket.bytesRead !== this.bytesSeen.get(socket)) {
            this.bytesSeen.set(socket, socket.bytesRead);
            this.quietSince.set(socket, now);
            continue;
          }
          const quiet = Math.max(this.quietSince.get(socket) ?? stoppedAt, stoppedAt);
          if (now - quiet >= quietMs) socket.destroy();
        }
      },
      Math.min(100, quietMs),
    ).unref();
    try {
      await Promise.race([closed, sleep(timeoutMs)]);
    } finally {
      clearInterval(sweep);
      for (const socket of this.sockets) socket.destroy();
    }
    await closed;
  }
}
