import { ConfigError } from '../config/errors.js';
import { readConfigFile, resolveConfig } from '../config/load.js';
import { validateInterceptors } from '../interceptors/registry.js';
import { adapterFor } from '../providers/registry.js';

/**
 * `--validate-config FILE`: prints one line per check and every bad key with its path; returns the exit
 * code (0 valid, 1 invalid). The environment is applied as at run time, so `${VAR}` references resolve.
 */
export async function validateConfigCommand(file: string, out: (line: string) => void, env = process.env): Promise<number> {
  try {
    await readConfigFile(file, env);
    out(`✓ ${file}: readable YAML, variables expanded`);
    const config = await resolveConfig({ file, env });
    out('✓ every key is known and every value has the right type');
    adapterFor(config.llm.type);
    out(`✓ provider: ${config.llm.type} at ${config.llm.base_url}`);
    out(`✓ server: ${config.server.host}:${config.server.port}, body limit ${config.server.max_body_size} bytes`);
    out(`✓ sessions: ${config.session.enabled ? `on, up to ${config.session.max_sessions}, idle TTL ${config.session.session_ttl_seconds} s` : 'off'}`);
    validateInterceptors(config);
    out(`✓ interceptors: ${config.interceptors.length ? config.interceptors.map((i) => `${i.type}${i.enabled ? '' : ' (disabled)'}`).join(', ') : 'none'}`);
    out(`✓ logging: ${config.logging.level}, ${config.logging.format}${config.logging.file ? `, file ${config.logging.file}` : ''}`);
    out('configuration is valid');
    return 0;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    out(`✗ ${file}: configuration is invalid`);
    for (const problem of err.problems) out(`  ✗ ${problem.path || '(file)'}: ${problem.message}`);
    return 1;
  }
}
