import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { ConfigError } from '../config/errors.js';
import { exampleConfigYaml } from '../config/example.js';
import { version } from '../version.js';
import { sessionsCommand } from './sessions/command.js';
import { validateConfigCommand } from './validate.js';

interface Flags {
  baseUrl?: string;
  type?: string;
  apiKey?: string;
  port?: string;
  host?: string;
  config?: string;
  generateConfig?: string;
  validateConfig?: string;
  logLevel?: string;
  logFormat?: string;
  logFile?: string;
}

export function buildProgram(): Command {
  const program = new Command('cylestio-gateway')
    .description('LLM API gateway: proxies OpenAI- and Anthropic-style APIs and groups requests into sessions')
    .version(version, '-v, --version')
    .option('--base-url <url>', 'provider base URL (required unless --config)')
    .addOption(new Option('--type <type>', 'provider wire format (required unless --config)').choices(['openai', 'anthropic']))
    .option('--api-key <key>', 'provider API key (default: OPENAI_API_KEY / ANTHROPIC_API_KEY)')
    .option('--port <port>', 'port to listen on (default: 3000)')
    .option('--host <host>', 'address to listen on (default: 0.0.0.0)')
    .option('--config <file>', 'YAML configuration file')
    .option('--generate-config <file>', 'write an example configuration file and exit')
    .option('--validate-config <file>', 'check a configuration file and exit')
    .option('--log-level <level>', 'DEBUG | INFO | WARNING | ERROR')
    .addOption(new Option('--log-format <format>', 'log format').choices(['console', 'json']))
    .option('--log-file <path>', 'also write logs to this file')
    .action(async (flags: Flags) => {
      if (flags.generateConfig) {
        if (existsSync(flags.generateConfig)) program.error(`error: ${flags.generateConfig} already exists; not overwriting it`);
        await writeFile(flags.generateConfig, exampleConfigYaml);
        console.log(`wrote example configuration to ${flags.generateConfig}`);
        return;
      }
      if (flags.validateConfig) {
        process.exitCode = await validateConfigCommand(flags.validateConfig, (line) => console.log(line));
        return;
      }
      if (!flags.config && (!flags.baseUrl || !flags.type)) {
        program.error('error: --base-url and --type are required unless --config is given');
      }
      try {
        // Loaded here, not at the top: the gateway's modules (Fastify, undici, the stores) cost ~1 s to load,
        // which `sessions` and `--validate-config` have no use for.
        const { runGateway } = await import('./run.js');
        await runGateway({
          config: flags.config,
          cli: {
            baseUrl: flags.baseUrl,
            type: flags.type,
            apiKey: flags.apiKey,
            port: flags.port,
            host: flags.host,
            logLevel: flags.logLevel,
            logFormat: flags.logFormat,
            logFile: flags.logFile,
          },
        });
      } catch (err) {
        if (err instanceof ConfigError) program.error(err.message);
        throw err;
      }
    });
  program.addCommand(sessionsCommand());
  return program;
}
