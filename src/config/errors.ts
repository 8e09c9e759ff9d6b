import type { z } from 'zod';

export interface ConfigProblem {
  /** Dotted path of the offending key, e.g. `server.port` or `session.bogus`. */
  path: string;
  message: string;
}

/** Thrown when a configuration cannot be used; carries every problem, not only the first. */
export class ConfigError extends Error {
  constructor(
    readonly problems: ConfigProblem[],
    readonly source?: string,
  ) {
    super(`invalid configuration${source ? ` in ${source}` : ''}:\n${problems.map((p) => `  - ${p.path || '(root)'}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function joinPath(path: ReadonlyArray<PropertyKey>): string {
  return path
    .map((part) => (typeof part === 'number' ? `[${part}]` : String(part)))
    .join('.')
    .replace(/\.\[/g, '[');
}

/** One problem per bad key: an unknown-keys issue names each key with its full path. */
export function problemsFromZod(error: z.ZodError): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        problems.push({ path: joinPath([...issue.path, key]), message: 'unknown key' });
      }
    } else {
      problems.push({ path: joinPath(issue.path), message: issue.message });
    }
  }
  return problems;
}
