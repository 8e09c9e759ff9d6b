// The SSE framer must frame exactly as a standard parser does (eventsource-parser, which the gateway used
// before), however the text is cut, while holding at most its whole-parse limit of any one event.
import { createParser } from 'eventsource-parser';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SseFramer } from '../../src/providers/sse-framer.js';

type Event = [string | undefined, string];

function reference(text: string): Event[] {
  const events: Event[] = [];
  const parser = createParser({ onEvent: (message) => events.push([message.event || undefined, message.data]) });
  parser.feed(text);
  return events;
}

/** Events the framer gives, large ones reassembled from their pieces (and how many were large). */
function framed(pieces: string[], wholeChars: number): { events: Event[]; large: number } {
  const events: Event[] = [];
  let large = 0;
  const framer = new SseFramer(
    {
      event: (type, data) => events.push([type, data]),
      large() {
        large++;
        let data = '';
        return { write: (piece) => (data += piece), end: (type) => events.push([type, data]) };
      },
    },
    wholeChars,
  );
  for (const piece of pieces) framer.write(piece);
  return { events, large };
}

function cut(text: string, points: number[]): string[] {
  const at = [...new Set(points.map((p) => p % (text.length + 1)))].sort((a, b) => a - b);
  const pieces: string[] = [];
  let from = 0;
  for (const point of at) {
    pieces.push(text.slice(from, point));
    from = point;
  }
  pieces.push(text.slice(from));
  return pieces;
}

const line = fc.oneof(
  fc.constantFrom(
    'data: {"a":1}',
    'data:x',
    'data',
    'data:  two spaces',
    'event: message_start',
    'event:',
    'event',
    ': comment',
    'id: 7',
    'retry: 10',
    'datax: no',
    'data: [DONE]',
    '',
  ),
  fc.string({ maxLength: 12 }).map((s) => `data: ${s.replace(/[\r\n]/g, '')}`),
);
const stream = fc
  .tuple(fc.array(fc.tuple(line, fc.constantFrom('\n', '\r\n', '\r')), { maxLength: 30 }), fc.boolean())
  .map(([lines, closed]) => lines.map(([l, end]) => l + end).join('') + (closed ? '\n\n' : ''));

describe('SSE framer', () => {
  it('gives the events eventsource-parser gives, however the stream is cut and whatever the whole-parse limit', () => {
    fc.assert(
      fc.property(stream, fc.array(fc.nat(), { maxLength: 8 }), fc.constantFrom(1, 4, 1 << 20), (text, points, wholeChars) => {
        // A CR that ends the stream ends its line for the framer (the spec's reading); eventsource-parser
        // waits to see whether an LF follows. Only a stream's very last character can differ that way.
        fc.pre(!text.endsWith('\r'));
        expect(framed(cut(text, points), wholeChars).events).toEqual(reference(text));
      }),
      { numRuns: 1000 },
    );
  });

  it('hands an event over its limit on as pieces, and an unfinished one is never dispatched', () => {
    const data = 'x'.repeat(5000);
    const { events, large } = framed(cut(`event: big\ndata: ${data}\ndata: y\n\ndata: small\n\ndata: never ended`, [10, 3000, 4999, 5020]), 1000);
    expect(large).toBe(1);
    expect(events).toEqual([
      ['big', `${data}\ny`],
      [undefined, 'small'],
    ]);
  });
});
