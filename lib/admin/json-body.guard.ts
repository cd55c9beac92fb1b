import { UnsupportedMediaTypeException } from '@nestjs/common';
import type { CanActivate, ExecutionContext } from '@nestjs/common';

/**
 * The admin API's state-changing routes take `content-type: application/json` only, body or not. A
 * cross-site page can make a logged-in browser send a form post (urlencoded, multipart, text/plain)
 * or a body-less `fetch` with its cookies and no preflight, but not a JSON one: a guard that
 * authenticates by cookie is thereby safe from CSRF. Answers 415 otherwise.
 */
export class JsonBodyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const headers = context.switchToHttp().getRequest<{ headers: Record<string, string | string[] | undefined> }>().headers;
    const contentType = headers['content-type'];
    const mediaType = typeof contentType === 'string' ? contentType.split(';')[0]!.trim().toLowerCase() : undefined;
    if (mediaType === 'application/json') return true;
    throw new UnsupportedMediaTypeException(
      `Admin actions take a JSON request: send content-type: application/json (got ${mediaType === undefined ? 'none' : mediaType}), e.g. curl -H 'content-type: application/json' -d '{}'`,
    );
  }
}

export const jsonBodyOnly = new JsonBodyGuard();
