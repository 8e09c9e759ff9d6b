/**
 * `${VAR}` and `${VAR:-default}` in YAML values. Expansion runs on parsed string values, not on the raw text,
 * so a variable's content can never change the YAML structure around it.
 */
const pattern = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export function expandString(value: string, env: NodeJS.ProcessEnv): string {
  return value.replace(pattern, (_match, name: string, fallback: string | undefined) => {
    const found = env[name];
    if (found !== undefined && found !== '') return found;
    return fallback ?? '';
  });
}

export function expandValues(value: unknown, env: NodeJS.ProcessEnv): unknown {
  if (typeof value === 'string') return expandString(value, env);
  if (Array.isArray(value)) return value.map((item) => expandValues(item, env));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) out[key] = expandValues(inner, env);
    return out;
  }
  return value;
}
