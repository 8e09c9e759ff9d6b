import { readFile } from 'node:fs/promises';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { configSchema, type GatewayConfig } from './schema.js';
import { expandValues } from './env-expand.js';
import { ConfigError, problemsFromZod } from './errors.js';

/** Settings given on the command line; each one overrides the file and the environment. */
export interface CliOverrides {
  baseUrl?: string;
  type?: string;
  apiKey?: string;
  port?: string | number;
  host?: string;
  logLevel?: string;
  logFormat?: string;
  logFile?: string;
}

type Layer = Record<string, Record<string, unknown> | unknown>;

/** Reads a YAML config file and expands `${VAR}` references; the result is not validated yet. */
export async function readConfigFile(path: string, env: NodeJS.ProcessEnv): Promise<Layer> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError([{ path: '', message: `cannot read file: ${(err as NodeJS.ErrnoException).code ?? err}` }], path);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    const message = err instanceof YAMLParseError ? err.message : String(err);
    throw new ConfigError([{ path: '', message: `not valid YAML: ${message}` }], path);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError([{ path: '', message: 'the file must hold a mapping of sections' }], path);
  }
  return expandValues(doc, env) as Layer;
}

function compact(section: Record<string, unknown>): Record<string, unknown> | undefined {
  const entries = Object.entries(section).filter(([, value]) => value !== undefined && value !== '');
  return entries.length ? Object.fromEntries(entries) : undefined;
}

function cliLayer(cli: CliOverrides): Layer {
  return {
    server: compact({ port: cli.port, host: cli.host }),
    llm: compact({ base_url: cli.baseUrl, type: cli.type, api_key: cli.apiKey }),
    logging: compact({ level: cli.logLevel, format: cli.logFormat, file: cli.logFile }),
  };
}

function envLayer(env: NodeJS.ProcessEnv, providerType: unknown): Layer {
  const key = providerType === 'anthropic' ? env.ANTHROPIC_API_KEY : env.OPENAI_API_KEY;
  return {
    server: compact({ port: env.SERVER_PORT, host: env.SERVER_HOST }),
    llm: compact({ api_key: key }),
    logging: compact({ level: env.LOG_LEVEL }),
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Later layers win; sections merge key by key, lists and scalars replace. Empty strings count as unset. */
function mergeLayers(...layers: Layer[]): Layer {
  const out: Layer = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined) continue;
      const current = out[key];
      if (isPlainObject(value)) {
        out[key] = { ...(isPlainObject(current) ? current : {}), ...(compact(value) ?? {}) };
      } else {
        out[key] = value;
      }
    }
  }
  return out;
}

export interface ResolveOptions {
  file?: string;
  cli?: CliOverrides;
  env?: NodeJS.ProcessEnv;
}

/** Precedence: CLI > config file > environment > schema defaults. Throws ConfigError listing every problem. */
export async function resolveConfig(options: ResolveOptions = {}): Promise<GatewayConfig> {
  const env = options.env ?? process.env;
  const fileLayer = options.file ? await readConfigFile(options.file, env) : {};
  const cli = cliLayer(options.cli ?? {});
  const chosenType = (cli.llm as Record<string, unknown> | undefined)?.type ?? (fileLayer.llm as Record<string, unknown> | undefined)?.type;
  const merged = mergeLayers(envLayer(env, chosenType), fileLayer, cli);
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) throw new ConfigError(problemsFromZod(parsed.error), options.file);
  return parsed.data;
}
