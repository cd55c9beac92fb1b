import type { IncomingMessage, ServerResponse } from 'node:http';
import { Get, Header, Inject, Injectable, Req, Res } from '@nestjs/common';
import { CIRCUIT_BREAKER_DASHBOARD_OPTIONS } from './circuit-breaker-dashboard.options.js';
import type { ResolvedDashboardOptions } from './circuit-breaker-dashboard.options.js';
import { DashboardHub } from './dashboard-hub.js';
import { DASHBOARD_CONTENT_SECURITY_POLICY, pageUrls, renderDashboardPage } from './dashboard-page.js';
import { DashboardSetup } from './dashboard-setup.js';

/** An Express request or response is the Node.js object itself; Fastify wraps it (`raw`). */
interface Wrapped<T> {
  raw?: T;
  originalUrl?: string;
  url?: string;
  hijack?: () => void;
}

/**
 * Routes (relative to the path given to `CircuitBreakerDashboardModule.register`):
 *
 * | route | answers |
 * |---|---|
 * | `GET /` | the page (HTML, with its own Content-Security-Policy) |
 * | `GET /events` | the event stream (`text/event-stream`): see `DashboardSnapshotEvent` |
 *
 * Both read only. The page's actions post to the admin API's routes, through its guards.
 */
@Injectable()
export class CircuitBreakerDashboardController {
  constructor(
    @Inject(CIRCUIT_BREAKER_DASHBOARD_OPTIONS) private readonly options: ResolvedDashboardOptions,
    private readonly hub: DashboardHub,
    private readonly setup: DashboardSetup,
  ) {}

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', DASHBOARD_CONTENT_SECURITY_POLICY)
  @Header('Cache-Control', 'no-store')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('X-Frame-Options', 'DENY')
  @Header('Referrer-Policy', 'no-referrer')
  page(@Req() request: IncomingMessage & Wrapped<IncomingMessage>): string {
    const requestPath = request.originalUrl ?? request.raw?.url ?? request.url ?? '/';
    const { readOnly, credentialsHeader, path } = this.options;
    return renderDashboardPage({ ...pageUrls(requestPath, path, this.setup.adminPath), credentialsHeader, readOnly });
  }

  @Get('events')
  events(@Req() request: IncomingMessage & Wrapped<IncomingMessage>, @Res() response: ServerResponse & Wrapped<ServerResponse>): void {
    // Fastify: the stream is written to the Node.js response, outside Fastify's reply lifecycle.
    response.hijack?.();
    this.hub.connect(request.raw ?? request, response.raw ?? response);
  }
}
