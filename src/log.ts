// The process logger. Field names are fixed (README, "Logging"); nothing that may hold a
// credential is ever logged, and the redaction below is a second line of defence for anyone
// who later logs a request or its headers by mistake.

import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger };

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  // ioredis attaches the failed command to its errors, AUTH and its password included.
  'err.command',
  'err.cause.command',
  'err.cause.cause.command',
  'err.previousErrors',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'referrers-proxy' },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
