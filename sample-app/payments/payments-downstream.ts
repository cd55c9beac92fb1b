/**
 * The sample's real dependency: a small HTTP "payments" service on its own port, started with the
 * app. Its behaviour switches at runtime (POST /chaos/payments) so you can watch the breaker trip,
 * fail fast, fall back and recover.
 */
import { Injectable } from '@nestjs/common';
import type { OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PaymentsEndpoint } from './payments-endpoint.js';

export type PaymentsMode = 'ok' | 'fail' | 'slow' | 'flaky';
export const PAYMENTS_MODES: readonly PaymentsMode[] = ['ok', 'fail', 'slow', 'flaky'];

export interface PaymentsBehaviour {
  mode: PaymentsMode;
  /** flaky: share of requests that fail, in percent. */
  percent: number;
  /** slow: how long each answer takes, in ms (well above the breaker's timeout). */
  slowMs: number;
}

export const PAYMENTS_DOWNSTREAM_OPTIONS = 'PAYMENTS_DOWNSTREAM_OPTIONS';

export interface PaymentsDownstreamOptions {
  /** Port to listen on; 0 picks a free one. */
  port: number;
}

@Injectable()
export class PaymentsDownstream implements PaymentsEndpoint, OnModuleInit, OnModuleDestroy {
  readonly external = false;
  private server: Server | undefined;
  private behaviour: PaymentsBehaviour = { mode: 'ok', percent: 50, slowMs: 3_000 };
  /** Requests that reached the dependency (what an open breaker must keep at zero). */
  received = 0;
  /** Emits 'request' for each request that arrives (tests wait on it instead of sleeping). */
  readonly events = new EventEmitter();

  constructor(private readonly options: PaymentsDownstreamOptions) {}

  get url(): string {
    const address = this.server?.address() as AddressInfo | null | undefined;
    if (!address) throw new Error('payments downstream is not listening');
    return `http://127.0.0.1:${address.port}`;
  }

  get current(): PaymentsBehaviour {
    return { ...this.behaviour };
  }

  set(behaviour: Partial<PaymentsBehaviour>): PaymentsBehaviour {
    this.behaviour = { ...this.behaviour, ...behaviour };
    return this.current;
  }

  async onModuleInit(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 1_000;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.options.port, '127.0.0.1', () => resolve());
    });
  }

  async onModuleDestroy(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.received++;
    this.events.emit('request', req.url);
    const { mode, percent, slowMs } = this.behaviour;
    const answer = (): void => {
      const match = /^\/prices\/([\w-]+)$/.exec(req.url ?? '');
      if (req.method === 'GET' && match) return this.json(res, 200, { orderId: match[1], price: priceOf(match[1]!), currency: 'EUR' });
      if (req.method === 'POST' && req.url === '/charges') return this.json(res, 201, { chargeId: `ch_${this.received}`, status: 'captured' });
      this.json(res, 404, { error: 'not found' });
    };
    if (mode === 'fail' || (mode === 'flaky' && Math.random() * 100 < percent)) {
      this.json(res, 500, { error: 'payments provider failure' });
      return;
    }
    if (mode === 'slow') {
      const timer = setTimeout(answer, slowMs);
      res.on('close', () => clearTimeout(timer)); // the caller gave up (timeout): drop the work
      return;
    }
    answer();
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }
}

/** A stable made-up price per order id, so cached and live prices can be compared. */
function priceOf(orderId: string): number {
  let hash = 0;
  for (const char of orderId) hash = (hash * 31 + char.charCodeAt(0)) % 10_000;
  return Math.round((10 + hash / 100) * 100) / 100;
}
