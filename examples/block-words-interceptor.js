// A custom interceptor, loaded with:
//   interceptors:
//     - type: custom
//       module: ./examples/block-words-interceptor.js
//       config: { words: ["forbidden"] }
//
// The module's default export is a factory: it receives { config, logger, redactHeaders } and returns an
// interceptor { type, onRequest?, onResponse?, onError?, figures?, close? } (see src/interceptors/types.ts).
// onRequest may answer the request itself by returning { status, headers?, body }: the provider is not called.
export default function create({ config, logger }) {
  const words = (config.words ?? []).map((word) => String(word).toLowerCase());
  let blocked = 0;
  let seen = 0;
  return {
    type: 'block_words',
    onRequest(ctx) {
      const text = ctx.rawBody ? ctx.rawBody.toString('utf8').toLowerCase() : '';
      const hit = words.find((word) => text.includes(word));
      if (!hit) return undefined;
      blocked++;
      logger.warn({ request_id: ctx.requestId, word: hit }, 'request blocked');
      return { status: 400, body: { error: { message: `blocked word: ${hit}`, type: 'invalid_request_error', code: 'blocked_content' } } };
    },
    onResponse() {
      seen++;
    },
    figures: () => ({ blocked, seen }),
  };
}
