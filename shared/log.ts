// pino loggers for both sides: JSON by default, pretty on a TTY, secrets redacted by path.
import pino, { type Logger } from 'pino'

export type { Logger }

/** Anything that could carry a credential, wherever it sits in a log object. */
const REDACT = [
  'authorization',
  'token',
  'secret',
  'password',
  'apiKey',
  'registrationToken',
  '*.authorization',
  '*.token',
  '*.secret',
  '*.password',
  '*.apiKey',
  '*.registrationToken',
  'headers["x-gitlab-token"]',
  '*.headers.authorization',
  '*.headers["x-gitlab-token"]',
]

export function createLogger(
  name: string,
  level = process.env.TOEHOLD_LOG_LEVEL ?? 'info',
): Logger {
  const pretty = process.stdout.isTTY && !process.env.TOEHOLD_LOG_JSON
  return pino({
    name,
    level,
    redact: { paths: REDACT, censor: '[redacted]' },
    ...(pretty
      ? {
          transport: {
            target: 'pino-pretty',
            options: { ignore: 'pid,hostname', translateTime: 'HH:MM:ss' },
          },
        }
      : {}),
  })
}
