/**
 * Shared helpers for the e2e tests: real Nest applications built with Test.createTestingModule,
 * driven over HTTP with supertest. Time only moves through ManualClock.advance; never a sleep.
 */
import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import type { INestApplication, ModuleMetadata } from '@nestjs/common';
import type { CircuitBreakerSettings } from '../../lib/index.js';

/** A breaker that trips on the second failure in a row and stays open 10 s. */
export function tripFast(overrides: CircuitBreakerSettings = {}): CircuitBreakerSettings {
  return {
    slidingWindow: { type: 'count', size: 10 },
    minimumCalls: 2,
    failureRateThreshold: 50,
    openDurationMs: 10_000,
    ...overrides,
  };
}

/** Compiles a testing module from `metadata` and returns the (not yet initialised) app. */
export async function buildApp(metadata: ModuleMetadata): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule(metadata).compile();
  return moduleRef.createNestApplication({ logger: false });
}

/** buildApp + app.init(). */
export async function startApp(metadata: ModuleMetadata): Promise<INestApplication> {
  const app = await buildApp(metadata);
  await app.init();
  return app;
}

/** Closes every app pushed into it; call from afterEach. */
export class Apps {
  private readonly apps: INestApplication[] = [];
  private readonly failed = new Set<INestApplication>();

  track<T extends INestApplication>(app: T): T {
    this.apps.push(app);
    return app;
  }

  /**
   * Compiles, creates and initialises an app that is expected to fail bootstrap; returns the error
   * (whichever step raised it: compile, createNestApplication or init). Throws if it bootstraps.
   */
  async bootstrapError(metadata: ModuleMetadata): Promise<unknown> {
    let app: INestApplication | undefined;
    try {
      const moduleRef = await Test.createTestingModule(metadata).compile();
      app = this.track(moduleRef.createNestApplication({ logger: false }));
      this.failed.add(app);
      await app.init();
    } catch (error) {
      return error;
    }
    this.failed.delete(app);
    throw new Error('expected bootstrap to fail, but app.init() resolved');
  }

  /** Closes one app now (a test that checks what closing does); afterEach will not close it again. */
  async close(app: INestApplication): Promise<void> {
    const index = this.apps.indexOf(app);
    if (index !== -1) this.apps.splice(index, 1);
    await app.close();
  }

  /** An app the test closed itself: afterEach will not close it again. */
  forget(app: INestApplication): void {
    const index = this.apps.indexOf(app);
    if (index !== -1) this.apps.splice(index, 1);
  }

  async closeAll(): Promise<void> {
    const apps = this.apps.splice(0);
    for (const app of apps.reverse()) {
      if (this.failed.delete(app)) {
        // an app whose bootstrap failed on purpose: close what was built, its errors are expected
        await app.close().catch(() => undefined);
      } else {
        await app.close();
      }
    }
  }
}

/** Lets pending promise continuations run (no timers involved). */
export async function flushMicrotasks(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}

/** Settles after `promise` or rejects with the error it rejected with, typed `unknown`. */
export async function errorOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

/** The error `fn` throws synchronously. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the function to throw');
}

/**
 * Turns the event loop (setImmediate, not a timer) until `condition` holds: used to wait for a
 * request to reach its handler before moving the ManualClock.
 */
export async function until(condition: () => boolean, what = 'condition', turns = 500): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (condition()) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export type Platform = 'express' | 'fastify';

/** Compiles, creates (on the given HTTP platform) and initialises an app; tracked by `apps`. */
export async function startOn(apps: Apps, platform: Platform, metadata: ModuleMetadata): Promise<INestApplication> {
  const moduleRef = await Test.createTestingModule(metadata).compile();
  if (platform === 'express') {
    const app = apps.track(moduleRef.createNestApplication({ logger: false }));
    await app.init();
    return app;
  }
  const { FastifyAdapter } = await import('@nestjs/platform-fastify');
  const app = apps.track(moduleRef.createNestApplication(new FastifyAdapter(), { logger: false }));
  await app.init();
  await (app.getHttpAdapter().getInstance() as { ready(): Promise<unknown> }).ready();
  return app;
}
