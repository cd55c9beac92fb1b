/**
 * A `content-type: application/json` POST with no body (`curl -X POST -H 'content-type:
 * application/json' .../force-open`): Express's JSON parser takes it as `{}`, Fastify's refuses it
 * with 400 (FST_ERR_CTP_EMPTY_JSON_BODY) before any guard or handler runs. The admin actions need
 * no body, so both adapters must answer alike: on Fastify, the admin POST routes (marked through
 * Nest's Fastify route config) get a preParsing hook that gives an empty JSON body the text `{}`.
 * Nothing else of the application's routes or parsers changes, and a malformed body stays a 400.
 */
import { SetMetadata } from '@nestjs/common';
import type { AbstractHttpAdapter } from '@nestjs/core';
import { Readable } from 'node:stream';

/** @nestjs/platform-fastify's key for `@RouteConfig()` (an optional peer: not imported). */
const FASTIFY_ROUTE_CONFIG_METADATA = '__fastify_route_config__';
const MARK = 'nestjsBreakerAcceptsEmptyJsonBody';

/** Marks an admin POST route whose empty JSON body is taken as `{}` on Fastify too. */
export const acceptsEmptyJsonBody = (): MethodDecorator => SetMetadata(FASTIFY_ROUTE_CONFIG_METADATA, { [MARK]: true });

interface RawRequest {
  readonly raw: { headers: Record<string, string | string[] | undefined> };
}
type PreParsingHook = (request: RawRequest, reply: unknown, payload: unknown, done: (error: Error | null, payload?: unknown) => void) => void;
interface RouteOptions {
  config?: Record<string, unknown>;
  preParsing?: PreParsingHook | PreParsingHook[];
}
interface FastifyLike {
  addHook(name: 'onRoute', hook: (route: RouteOptions) => void): unknown;
}

const installed = new WeakSet<object>();

/**
 * On a Fastify application, adds the hook to the marked routes. Call before Nest registers the
 * routes (a module's `configure()` runs then); once per Fastify instance, however many admin
 * registrations there are.
 */
export function acceptEmptyJsonBodies(adapter: AbstractHttpAdapter | undefined): void {
  if (adapter === undefined || adapter.getType() !== 'fastify') return;
  const fastify = adapter.getInstance<FastifyLike & object>();
  if (installed.has(fastify)) return;
  installed.add(fastify);
  fastify.addHook('onRoute', (route) => {
    if (route.config?.[MARK] !== true) return;
    const existing = route.preParsing === undefined ? [] : Array.isArray(route.preParsing) ? route.preParsing : [route.preParsing];
    route.preParsing = [...existing, emptyJsonAsObject];
  });
}

const emptyJsonAsObject: PreParsingHook = (request, _reply, payload, done) => {
  const headers = request.raw.headers;
  const contentType = headers['content-type'];
  const json = typeof contentType === 'string' && contentType.split(';')[0]!.trim().toLowerCase() === 'application/json';
  const empty = headers['transfer-encoding'] === undefined && (headers['content-length'] === undefined || headers['content-length'] === '0');
  if (!json || !empty) {
    done(null, payload);
    return;
  }
  // Fastify checks the body read against content-length: the two bytes of `{}`.
  headers['content-length'] = '2';
  done(null, Readable.from(Buffer.from('{}'), { objectMode: false }));
};
