import type { GatewayConfig } from './schema.js';

const REDACTED = '[REDACTED]';
/** Keys whose values are secrets wherever they appear (interceptor configs included). */
const secretKey = /(api[_-]?key|token|secret|password|authorization|cookie|hash_key|valid_keys|credential)/i;
/** Connection strings may carry a password: keep the shape, hide the credentials. */
function redactUrlCredentials(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^@/]*)@/i, (_m, scheme: string) => `${scheme}${REDACTED}@`);
}

function redactValue(key: string, value: unknown): unknown {
  if (value === undefined || value === null || value === '') return value;
  if (secretKey.test(key)) return REDACTED;
  // Export headers carry ingest keys under names of every vendor's choosing: all their values are secret.
  if (key === 'headers' && value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return Object.fromEntries(Object.keys(value).map((name) => [name, REDACTED]));
  }
  if (typeof value === 'string') return redactUrlCredentials(value);
  if (Array.isArray(value)) return value.map((item) => redactValue('', item));
  if (typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([inner, v]) => [inner, redactValue(inner, v)]));
  }
  return value;
}

/** The effective configuration as `/config` shows it: every secret replaced, never dropped silently. */
export function redactConfig(config: GatewayConfig): Record<string, unknown> {
  return redactValue('', config) as Record<string, unknown>;
}
