import type { SessionConfig } from '../config/schema.js';
import type { ParsedRequest } from '../providers/types.js';
import { explicitIdFinder } from './explicit.js';
import { statedLineage } from './lineage/agent-headers.js';
import type { SessionRequest } from './types.js';

/** What the proxy knows of a chat request when it asks for its session. */
export interface SessionRequestInput {
  headers: Record<string, string | string[] | undefined>;
  /** The client's address (only `partition_by: credential_and_client` uses it). */
  clientIp: string;
  /** The credential the client sent itself, if any (the adapter reads it from its own auth header). */
  clientCredential: string | undefined;
  parsed: ParsedRequest;
}

/**
 * Turns a chat request into what detection needs. The partition is the credential that will reach the
 * provider (the client's own, else the configured key), plus the client address with
 * `credential_and_client`, or nothing with `none`: sessions never cross it. The explicit name comes from
 * the configured headers, then the body's `metadata.session_id`.
 */
export function sessionRequestBuilder(
  config: Pick<SessionConfig, 'explicit_id_headers' | 'partition_by'>,
  configuredKey: string | undefined,
): (input: SessionRequestInput) => SessionRequest {
  const findExplicitId = explicitIdFinder(config.explicit_id_headers);
  const partitionBy = config.partition_by;
  return ({ headers, clientIp, clientCredential, parsed }) => {
    const credential = clientCredential ?? (configuredKey || undefined) ?? '';
    const explicitId = findExplicitId(headers, parsed.explicitSessionId);
    // A sub-agent of a named run is a session of its own, under the run (agent headers, session paths).
    const stated = statedLineage(headers, explicitId);
    return {
      partition: partitionBy === 'none' ? '' : partitionBy === 'credential' ? credential : `${credential}|${clientIp}`,
      explicitId: stated?.explicitId ?? explicitId,
      explicitParentId: stated?.explicitParentId,
      traceId: traceIdOf(headers.traceparent),
      previousResponseId: parsed.previousResponseId,
      conversation: parsed.conversation(),
    };
  };
}

/** The trace id of a W3C `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`); undefined when absent or malformed. */
function traceIdOf(value: string | string[] | undefined): string | undefined {
  const header = Array.isArray(value) ? value[0] : value;
  if (!header || header.length < 55) return undefined;
  const match = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}/.exec(header);
  return match && match[1] !== '0'.repeat(32) ? match[1] : undefined;
}
