// Structured JSON logs (pino): one object per line, with the partner and node in every line. Secrets
// never reach the log: authorization headers, cookies, API keys and tokens are redacted by path.
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface LoggerOptions {
  readonly level?: LogLevel;
  readonly bindings?: Readonly<Record<string, string>>;
  /** Where lines go; default stdout. Tests pass a collecting stream. */
  readonly destination?: DestinationStream;
}

const redactedPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers["x-api-key"]',
  'token',
  'apiKey',
  'connectionParams.authorization',
  'connectionParams.apiKey',
];

export function createLogger(options: LoggerOptions = {}): Logger {
  const logger = pino(
    {
      level: options.level ?? 'info',
      base: { ...options.bindings },
      redact: { paths: redactedPaths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
  return logger;
}
