/**
 * The store contract: what every CircuitBreakerStore must do, asserted through the interface alone
 * (nestjs-breaker/store), so the in-memory store and the Redis store are held to the same
 * semantics. A store under test comes from `make()`, fresh (nothing stored) for each test; `nowMs`
 * is the requester's clock of the test (a store with a clock of its own moves times onto it).
 *
 * test/unit/fleet/in-memory-store-keeps-the-store-contract.spec.ts and
 * test/redis/redis-store-keeps-the-store-contract.spec.ts run it.
 */
import { afterEach, describe, expect, test } from '@jest/globals';
import type { CircuitBreakerStore, SharedState, SyncRequest, TransitionRequest } from '../../lib/store/index.js';
import { isSharedState } from '../../lib/store/index.js';

export interface ContractSubject {
  readonly store: CircuitBreakerStore;
  /** The requester's clock now (ms). */
  now(): number;
  cleanup(): Promise<void>;
}

const NAME = 'payments';
const OPEN_MS = 5_000;
const WINDOW = { bucketMs: 1_000, buckets: 10, countLimit: 0 } as const;

export function describeStoreContract(label: string, make: () => Promise<ContractSubject>): void {
  describe(`${label} keeps the store contract`, () => {
    const subjects: ContractSubject[] = [];
    afterEach(async () => {
      for (const subject of subjects.splice(0)) await subject.cleanup();
    });
    const subject = async (): Promise<ContractSubject> => {
      const made = await make();
      subjects.push(made);
      return made;
    };
    const sync = (s: ContractSubject, calls = 0, failures = 0, extra: Partial<SyncRequest> = {}) =>
      s.store.sync([{ name: NAME, nowMs: s.now(), delta: { calls, failures, slowCalls: 0 }, window: WINDOW, ...extra }]).then((replies) => replies[0]!);
    const open = (s: ContractSubject, expectedVersion: number, extra: Partial<TransitionRequest> = {}) => {
      const now = s.now();
      return s.store.transition({
        name: NAME,
        expectedVersion,
        nowMs: now,
        next: { state: 'open', openedAt: now, openUntil: now + OPEN_MS, openStreak: 1, trip: { reason: 'failure_rate', calls: 20, failureRate: 60, slowCallRate: 0 } },
        clearWindow: false,
        ...extra,
      });
    };
    const close = (s: ContractSubject, expectedVersion: number, clearWindow = true) =>
      s.store.transition({ name: NAME, expectedVersion, nowMs: s.now(), next: { state: 'closed', openedAt: Number.NaN, openUntil: 0, openStreak: 0 }, clearWindow });

    test('nothing stored: no state, an empty window, not corrupt', async () => {
      const s = await subject();
      const reply = await sync(s);
      expect(reply).toMatchObject({ state: undefined, corrupt: false, calls: 0, failures: 0, slowCalls: 0 });
      await expect(s.store.ping()).resolves.toBeUndefined();
    });

    test("the window adds every instance's deltas", async () => {
      const s = await subject();
      await sync(s, 3, 1);
      expect(await sync(s, 2, 2)).toMatchObject({ calls: 5, failures: 3 });
    });

    test('transitions are a compare-and-set on the version: the first write wins, a stale one gets the state in force', async () => {
      const s = await subject();
      const first = await open(s, 0);
      expect(isSharedState(first)).toBe(true);
      expect(first).toMatchObject({ version: 1, state: 'open', openStreak: 1 });
      const stale = await close(s, 0);
      expect(stale).toMatchObject({ version: 1, state: 'open' });
      const next = await close(s, 1);
      expect(next).toMatchObject({ version: 2, state: 'closed' });
      expect((await sync(s)).state).toMatchObject({ version: 2, state: 'closed' });
    });

    test('an opening keeps its duration and what opened it; answers carry the store clock they are on', async () => {
      const s = await subject();
      const written = (await open(s, 0))!;
      const read = (await sync(s)).state!;
      for (const state of [written, read]) {
        expect(state.openUntil - state.openedAt).toBe(OPEN_MS);
        expect(state.trip).toEqual({ reason: 'failure_rate', calls: 20, failureRate: 60, slowCallRate: 0 });
        // A store with a clock of its own stamps its answers; the opening began no later than that.
        if (state.readAtMs !== undefined) expect(state.openedAt).toBeLessThanOrEqual(state.readAtMs);
      }
    });

    test('peers hear of accepted transitions, not of refused ones', async () => {
      const s = await subject();
      const heard: [string, SharedState][] = [];
      const unsubscribe = s.store.subscribe((name, state) => heard.push([name, state]));
      try {
        await new Promise((resolve) => setTimeout(resolve, 50)); // a subscription may take a round trip
        await open(s, 0);
        await close(s, 0); // refused
        const deadline = Date.now() + 3_000;
        while (heard.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(heard).toEqual([[NAME, expect.objectContaining({ version: 1, state: 'open' })]]);
      } finally {
        unsubscribe();
      }
    });

    test('half-open permits: at most maxCalls per opening, not before its end, expired ones freed; the last success closes and clears the window', async () => {
      const s = await subject();
      await sync(s, 4, 4);
      const opening = (await open(s, 0))!;
      const now = s.now();
      const trial = (token: string, extra: Record<string, unknown> = {}) =>
        s.store.acquireTrial({ name: NAME, version: opening.version, token, maxCalls: 2, nowMs: now + OPEN_MS, expiresAtMs: now + OPEN_MS + 1_000, openUntilMs: now + OPEN_MS, ignoreOpenUntil: false, ...extra });
      expect(await trial('early', { nowMs: now })).toMatchObject({ granted: false, retryAtMs: now + OPEN_MS });
      expect(await trial('other-opening', { version: opening.version + 5 })).toMatchObject({ granted: false });
      expect((await trial('a', { expiresAtMs: now + OPEN_MS + 5_000 })).granted).toBe(true);
      expect((await trial('b')).granted).toBe(true);
      expect(await trial('c')).toMatchObject({ granted: false, retryAtMs: now + OPEN_MS + 1_000 });
      // b's permit expired: c gets it.
      expect((await trial('c', { nowMs: now + OPEN_MS + 1_001, expiresAtMs: now + OPEN_MS + 3_000 })).granted).toBe(true);
      expect(await s.store.completeTrial(NAME, opening.version, 'a', 2)).toMatchObject({ version: opening.version, state: 'open' });
      expect(await s.store.completeTrial(NAME, opening.version, 'a', 2)).toMatchObject({ state: 'open' }); // a permit counts once
      expect(await s.store.completeTrial(NAME, opening.version, 'c', 2)).toMatchObject({ version: opening.version + 1, state: 'closed' });
      expect(await sync(s)).toMatchObject({ state: { state: 'closed' }, calls: 0, failures: 0 });
    });

    test('a transition that clears the window starts it afresh', async () => {
      const s = await subject();
      await sync(s, 5, 5);
      await open(s, 0);
      expect(await sync(s)).toMatchObject({ calls: 5 });
      await close(s, 1, true);
      expect(await sync(s)).toMatchObject({ calls: 0, failures: 0 });
    });

    test('fleet options (optional): versioned records, answered in a sync when newer than the requester has', async () => {
      const s = await subject();
      if (s.store.writeOptions === undefined) return;
      expect(await s.store.writeOptions({ name: NAME, settings: { failureRateThreshold: 20 }, source: 'contract' })).toEqual({
        version: 1,
        settings: { failureRateThreshold: 20 },
        source: 'contract',
      });
      expect(await s.store.writeOptions({ name: NAME, settings: { minimumCalls: 4 }, source: 'contract' })).toMatchObject({ version: 2 });
      expect((await sync(s, 0, 0, { optionsVersion: 0 })).options).toEqual({ version: 2, settings: { minimumCalls: 4 }, source: 'contract' });
      expect((await sync(s, 0, 0, { optionsVersion: 2 })).options).toBeUndefined();
    });

    test('heartbeats (optional): listed while alive, with their age; ttl 0 removes one', async () => {
      const s = await subject();
      if (s.store.heartbeat === undefined || s.store.instances === undefined) return;
      const beat = { id: 'host-a:1:x', host: 'host-a', pid: 1, breakers: { [NAME]: { state: 'open', failureRate: 60, slowCallRate: 0, calls: 20, store: 'shared' } } };
      await s.store.heartbeat(beat, 60_000);
      await s.store.heartbeat({ ...beat, id: 'host-b:2:y', host: 'host-b', pid: 2 }, 60_000);
      const live = await s.store.instances();
      expect(live.map((i) => i.id).sort()).toEqual(['host-a:1:x', 'host-b:2:y']);
      const a = live.find((i) => i.id === 'host-a:1:x')!;
      expect(a).toMatchObject(beat);
      expect(a.ageMs).toBeGreaterThanOrEqual(0);
      await s.store.heartbeat(beat, 0);
      expect((await s.store.instances()).map((i) => i.id)).toEqual(['host-b:2:y']);
    });
  });
}
