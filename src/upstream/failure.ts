/** What went wrong talking to the provider, in the gateway's own terms. */
export type UpstreamFailure = 'timeout' | 'unreachable' | 'aborted' | 'broken';

const timeoutCodes = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);
/** Failures that happen while connecting: nothing reached the provider, so a retry cannot duplicate work. */
const connectCodes = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

function codeOf(error: unknown): string | undefined {
  const err = error as { code?: string; cause?: { code?: string } } | undefined;
  return err?.code ?? err?.cause?.code;
}

export function classifyFailure(error: unknown): UpstreamFailure {
  const code = codeOf(error);
  if ((error as Error)?.name === 'AbortError' || code === 'UND_ERR_ABORTED') return 'aborted';
  if (code && timeoutCodes.has(code)) return 'timeout';
  if (code && connectCodes.has(code)) return 'unreachable';
  return 'broken';
}

export function isConnectFailure(error: unknown): boolean {
  const code = codeOf(error);
  return code !== undefined && connectCodes.has(code);
}
