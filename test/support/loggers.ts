/**
 * Loggers that keep what they are told, for tests that assert log lines: a store's logger
 * (`{ warn, log }`) and a Nest `LoggerService` (the module's `logger` option).
 */
import type { LoggerService } from '@nestjs/common';
import type { StoreLogger } from '../../lib/index.js';

export interface CapturingLogger extends StoreLogger {
  readonly warns: string[];
  readonly logs: string[];
}

export function capturingLogger(): CapturingLogger {
  const warns: string[] = [];
  const logs: string[] = [];
  return { warns, logs, warn: (message) => void warns.push(message), log: (message) => void logs.push(message) };
}

export interface CapturingNestLogger extends LoggerService {
  readonly warns: string[];
  readonly logs: string[];
  readonly errors: string[];
}

export function capturingNestLogger(): CapturingNestLogger {
  const warns: string[] = [];
  const logs: string[] = [];
  const errors: string[] = [];
  return {
    warns,
    logs,
    errors,
    warn: (message: unknown) => void warns.push(String(message)),
    log: (message: unknown) => void logs.push(String(message)),
    error: (message: unknown) => void errors.push(String(message)),
  };
}
