// Configuration: ${VAR} expansion, precedence CLI > file > environment > defaults, and errors by key path.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { resolveConfig } from '../../src/config/load.js';
import { redactConfig } from '../../src/config/redact.js';

async function configFile(yaml: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cylestio-config-'));
  const file = join(dir, 'config.yaml');
  await writeFile(file, yaml);
  return file;
}

describe('resolveConfig', () => {
  it('uses the defaults when nothing is given', async () => {
    const config = await resolveConfig({ env: {} });
    expect(config.server).toMatchObject({ host: '0.0.0.0', port: 3000, max_body_size: 20 * 1024 * 1024 });
    expect(config.llm).toMatchObject({ type: 'openai', base_url: 'https://api.openai.com', timeout: 30, max_retries: 3 });
    expect(config.session).toMatchObject({ enabled: true, max_sessions: 10000, session_ttl_seconds: 3600 });
    expect(config.logging).toMatchObject({ level: 'info', format: 'console', file: null });
  });

  it('expands ${VAR} and ${VAR:-default} in values', async () => {
    const file = await configFile(
      'llm:\n  api_key: "${MY_KEY}"\n  base_url: "${MY_URL:-http://127.0.0.1:9999}"\nlogging:\n  file: "${LOG_DIR:-logs}/gw.log"\n',
    );
    const config = await resolveConfig({ file, env: { MY_KEY: 'sk-from-env', LOG_DIR: '/tmp/x' } });
    expect(config.llm.api_key).toBe('sk-from-env');
    expect(config.llm.base_url).toBe('http://127.0.0.1:9999');
    expect(config.logging.file).toBe('/tmp/x/gw.log');
  });

  it('applies CLI over file over environment over defaults', async () => {
    const file = await configFile('server:\n  port: 4000\nlogging:\n  level: ERROR\n');
    const env = { SERVER_PORT: '5000', SERVER_HOST: '127.0.0.2', LOG_LEVEL: 'DEBUG', OPENAI_API_KEY: 'sk-env' };
    const fromFile = await resolveConfig({ file, env });
    expect(fromFile.server.port).toBe(4000); // file beats environment
    expect(fromFile.server.host).toBe('127.0.0.2'); // environment beats default
    expect(fromFile.logging.level).toBe('error');
    expect(fromFile.llm.api_key).toBe('sk-env');
    const fromCli = await resolveConfig({ file, env, cli: { port: '6000', logLevel: 'WARNING', apiKey: 'sk-cli' } });
    expect(fromCli.server.port).toBe(6000);
    expect(fromCli.logging.level).toBe('warn');
    expect(fromCli.llm.api_key).toBe('sk-cli');
  });

  it('takes the key from ANTHROPIC_API_KEY for the anthropic type', async () => {
    const config = await resolveConfig({
      env: { OPENAI_API_KEY: 'sk-openai', ANTHROPIC_API_KEY: 'sk-ant' },
      cli: { type: 'anthropic', baseUrl: 'https://api.anthropic.com' },
    });
    expect(config.llm.api_key).toBe('sk-ant');
  });

  it('treats an unset ${VAR} key as no key, so the environment default still applies', async () => {
    const file = await configFile('llm:\n  api_key: "${UNSET_VARIABLE}"\n');
    const config = await resolveConfig({ file, env: { OPENAI_API_KEY: 'sk-env' } });
    expect(config.llm.api_key).toBe('sk-env');
  });

  it('reports every bad key with its path', async () => {
    const file = await configFile(
      'server:\n  port: nope\n  colour: blue\nsession:\n  fuzzy_threshold: 3\n  persistence:\n    backend: mongo\nlogging:\n  format: xml\nextra: 1\n',
    );
    const error = await resolveConfig({ file, env: {} }).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ConfigError);
    const paths = (error as ConfigError).problems.map((p) => p.path).sort();
    expect(paths).toEqual(['extra', 'logging.format', 'server.colour', 'server.port', 'session.fuzzy_threshold', 'session.persistence.backend']);
    expect((error as ConfigError).message).toContain('server.colour: unknown key');
  });

  it('reports unreadable files and invalid YAML as configuration errors', async () => {
    await expect(resolveConfig({ file: '/nonexistent/config.yaml', env: {} })).rejects.toThrow(/cannot read file: ENOENT/);
    await expect(resolveConfig({ file: await configFile('server: [unclosed'), env: {} })).rejects.toThrow(/not valid YAML/);
  });
});

describe('redactConfig', () => {
  it('hides keys, tokens and passwords in connection strings', async () => {
    const config = await resolveConfig({
      env: {},
      cli: { apiKey: 'sk-secret' },
    });
    config.session.persistence.connection = 'redis://user:pa55word@127.0.0.1:6379/0';
    config.interceptors.push({ type: 'auth', enabled: true, config: { bearer_token: 'tok-123', header: 'x' } });
    const text = JSON.stringify(redactConfig(config));
    expect(text).not.toContain('sk-secret');
    expect(text).not.toContain('pa55word');
    expect(text).not.toContain('tok-123');
    expect(text).toContain('redis://[REDACTED]@127.0.0.1:6379/0');
  });
});
