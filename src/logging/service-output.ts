/**
 * What a service command (`mlops up`, `worker`, `api`) says as it starts and stops: the banner (where the
 * API, the console and Temporal are) and short progress lines. A person at a terminal reads them as text,
 * as before; anything else (a container's log, a file, a pipe) gets them as JSON lines of the same log as
 * everything else, with the addresses also as fields.
 */
import type { Logger } from 'pino';
import { forService } from './logger';

export interface ServiceOutput {
  /** The process's root log, which components name themselves on (forService). */
  root: Logger;
  /** The process's log, for this service. */
  logger: Logger;
  /** Whether lines go to a person's terminal. */
  terminal: boolean;
  /** A line of the banner: `text` for a person, `fields` for a machine. */
  banner(text: string, fields: Record<string, unknown>): void;
  /** A progress line (data directory, stopping...). */
  say(line: string): void;
}

/** `terminal`: whether standard output is a person's terminal (toTerminal); `write` puts text there. */
export function serviceOutput(root: Logger, service: string, { terminal }: { terminal: boolean }, write: (text: string) => void = (text) => process.stdout.write(text)): ServiceOutput {
  const logger = forService(root, service);
  return {
    root,
    logger,
    terminal,
    banner: terminal ? (text) => write(`${text}\n`) : (text, fields) => logger.info(fields, text),
    say: terminal ? (line) => write(`${line}\n`) : (line) => logger.info(line),
  };
}
