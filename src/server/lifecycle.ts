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
  private readonly quietSince = new Map<Socket, number>();
  private readonly bytesSeen = new Map<Socket, number>();
  private draining: Promise<void> | null = null;

  // Nothing is done per request until a drain starts: connections are only counted as they open and close.
  constructor(private readonly server: Server) {
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => {
        this.sockets.delete(socket);
        this.quietSince.delete(socket);
        this.bytesSeen.delete(socket);
      });
    });
  }

  /**
   * A connection with a response under way: Node attaches the response to its socket from the moment the
   * request is parsed until the response is finished (`_httpMessage`, stable since Node 0.x).
   */
  private static busy(socket: Socket): boolean {
    return (socket as Socket & { _httpMessage?: unknown })._httpMessage != null;
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
    // First among the request listeners, so every answer from now on says `Connection: close`, even one
    // written synchronously by the framework.
    this.server.prependListener('request', (_request, response) => {
      response.shouldKeepAlive = false;
    });
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
          if (ServerLifecycle.busy(socket)) {
            this.quietSince.set(socket, now);
            continue;
          }
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
