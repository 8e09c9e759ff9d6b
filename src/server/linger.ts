import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

/** How long a refused upload may go on being read (and discarded) after its answer. */
const LINGER_MS = 5_000;

/**
 * For an answer given before the request body was read (413): a client still uploading would otherwise
 * meet a closed socket, and the reset that follows often destroys the answer in its receive buffer, so it
 * sees `EPIPE` instead of the 413. As web servers do ("lingering close"), the answer is sent with
 * `Connection: close`, the write side is closed after it, and what the client still sends is read and
 * discarded until it stops or a few seconds pass. Memory stays flat: nothing read is kept.
 */
export function lingerAfterAnswer(request: IncomingMessage): void {
  const socket: Socket = request.socket;
  request.resume();
  socket.destroySoon = () => {
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('end', () => {
      clearTimeout(timer);
      socket.destroy();
    });
    socket.once('close', () => clearTimeout(timer));
    socket.resume();
    socket.end();
  };
}
