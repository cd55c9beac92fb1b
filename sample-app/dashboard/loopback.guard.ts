import { ForbiddenException, Injectable } from '@nestjs/common';
import type { CanActivate, ExecutionContext } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);

/**
 * Lets the dashboard be viewed from this machine only (the sample listens on 127.0.0.1 anyway).
 * A browser sends no API key by itself, so the page gets a guard it can pass; its actions go to the
 * admin API, which still wants the x-api-key. In production use your real authentication (a
 * session cookie, your SSO proxy): behind a proxy, every request comes from the proxy's address.
 */
@Injectable()
export class LoopbackGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<IncomingMessage & { raw?: IncomingMessage }>();
    const address = (request.raw ?? request).socket.remoteAddress;
    if (address === undefined || !LOOPBACK.has(address)) throw new ForbiddenException('The dashboard is served to this machine only');
    return true;
  }
}
