import { createHash, timingSafeEqual } from 'node:crypto';
import { Injectable, Logger, UnauthorizedException } from '@nestjs/common';
import type { CanActivate, ExecutionContext } from '@nestjs/common';

const DEFAULT_KEY = 'change-me';

/**
 * Protects the circuit breaker admin API: the `x-api-key` header must equal ADMIN_API_KEY (read at
 * startup; default 'change-me', for the walkthrough only). Anything else answers 401.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor() {
    const key = process.env.ADMIN_API_KEY;
    if (key === undefined || key === '') {
      new Logger('ApiKeyGuard').warn(`ADMIN_API_KEY is not set: the admin API accepts the default key "${DEFAULT_KEY}"`);
    }
    this.expected = digest(key || DEFAULT_KEY);
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string | string[] | undefined> }>();
    const given = request.headers['x-api-key'];
    // Compare digests in constant time: the key's length and content do not show in the timing.
    if (typeof given !== 'string' || !timingSafeEqual(digest(given), this.expected)) {
      throw new UnauthorizedException('A valid x-api-key header is required');
    }
    return true;
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
