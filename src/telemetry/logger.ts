import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import pino, { type Logger, type LoggerOptions, type TransportTargetOptions } from 'pino';
import type { LoggingConfig } from '../config/schema.js';

/**
 * Paths pino blanks out in every log line, whatever logs them: a secret must never reach a log even when
 * a whole header map is logged by mistake.
 */
export const redactPaths = [
  'headers.authorization',
  'headers["x-api-key"]',
  'headers["api-key"]',
  'headers.cookie',
  'headers["set-cookie"]',
  '*.headers.authorization',
  '*.headers["x-api-key"]',
  '*.headers["api-key"]',
  '*.headers.cookie',
  'api_key',
  '*.api_key',
];

/**
 * Console format goes through pino-pretty and files through pino's own file target; both run in a worker
 * thread (pino transports) so formatting and disk writes never happen on the request path.
 */
export function createLogger(config: LoggingConfig, options: { destination?: NodeJS.WritableStream } = {}): Logger {
  const base: LoggerOptions = {
    level: config.level,
    base: { service: 'cylestio-gateway' },
    redact: { paths: redactPaths, censor: '[REDACTED]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (options.destination) return pino(base, options.destination as pino.DestinationStream);

  const targets: TransportTargetOptions[] = [
    config.format === 'console'
      ? {
          target: 'pino-pretty',
          level: config.level,
          options: { destination: 1, colorize: process.stdout.isTTY, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' },
        }
      : { target: 'pino/file', level: config.level, options: { destination: 1 } },
  ];
  if (config.file) {
    // Created once at start-up, before the server listens: not on any request path.
    mkdirSync(dirname(config.file), { recursive: true });
    targets.push({ target: 'pino/file', level: config.level, options: { destination: config.file, mkdir: true } });
  }
  return pino(base, pino.transport({ targets }));
}
