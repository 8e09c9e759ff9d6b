import net from 'node:net';

export interface RawAnswer {
  /** The status code of the first response, or null when the connection closed without one. */
  status: number | null;
  text: string;
}

/**
 * Sends bytes exactly as given on a fresh connection (request targets and framing that HTTP clients refuse
 * to produce) and resolves with what came back once the server closes the connection or `settle` says the
 * answer is complete.
 */
export function rawRequest(url: string, bytes: string | Buffer, settle: (text: string) => boolean = () => false): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    let text = '';
    const done = () => {
      const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve({ status: match ? Number(match[1]) : null, text });
      socket.destroy();
    };
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      if (settle(text)) done();
    });
    socket.on('close', done);
    socket.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? done() : reject(err)));
    socket.write(bytes);
  });
}

/** True once a response with a Content-Length body has fully arrived. */
export function completeResponse(text: string): boolean {
  const headEnd = text.indexOf('\r\n\r\n');
  if (headEnd === -1) return false;
  const length = /\r\ncontent-length: (\d+)/i.exec(text.slice(0, headEnd));
  return length !== null && text.length - headEnd - 4 >= Number(length[1]);
}
