import { upstreamRequestHeaders } from '../../server/headers.js';
import { forward } from '../../upstream/forward.js';
import type { UpstreamTarget } from '../../upstream/pool.js';
import type { OtlpTelemetry } from '../../telemetry/otlp/telemetry.js';
import type { Exchange } from '../exchange.js';
import { relay, type RelayOptions } from '../relay.js';
import type { Stage } from '../runner.js';

/**
 * Forward, relay and reassemble: sends the client's original bytes upstream on the keep-alive pool and
 * streams the answer back while the reply is reassembled. Settles when the exchange is over (completed,
 * failed upstream, or left by the client); the provider's own timeouts bound it, so it has no deadline.
 */
export function forwardStage(upstream: UpstreamTarget, options: RelayOptions, telemetry: OtlpTelemetry | null = null): Stage {
  return {
    name: 'forward',
    deadlineMs: 0,
    run(ex: Exchange) {
      return new Promise<void>((resolve) => {
        const sink = relay(ex, options, resolve);
        // With export on, the provider sees the gateway's span as the parent (W3C trace context).
        const traceHeaders = telemetry?.begin(ex);
        const headers = upstreamRequestHeaders(ex.headers, {
          inject: traceHeaders ? { ...ex.injectedAuth, ...traceHeaders } : ex.injectedAuth,
          identityEncoding: Boolean(ex.route?.conversational),
          withheld: ex.withheld,
        });
        ex.call = forward(upstream, { method: ex.method, path: ex.path, headers, body: ex.rawBody }, sink);
      });
    },
  };
}
