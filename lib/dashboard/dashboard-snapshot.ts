/**
 * The `snapshot` event (everything a page needs to start from) and an instance's view of its
 * breakers (the `instances` event), built from the hub's breaker tracks.
 */
import type { BreakerTrack } from './breaker-track.js';
import type { DashboardFamilyView, DashboardInstanceView, DashboardSnapshotEvent } from './dashboard-events.js';
import type { FleetInstance } from '../circuit-breaker.registry.js';
import type { CircuitState } from '../core/states/index.js';
import { STATE_TABLE } from '../core/states/index.js';

/** `slots`: the sample ring's slots, oldest first; `sampleTimes` is indexed by slot. */
export function snapshotOf(
  tracks: Iterable<BreakerTrack>,
  slots: readonly number[],
  sampleTimes: Float64Array,
  instances: DashboardInstanceView[],
  head: Pick<DashboardSnapshotEvent, 'at' | 'instanceId' | 'sampleIntervalMs' | 'historyMs'>,
  families: readonly DashboardFamilyView[] = [],
): DashboardSnapshotEvent {
  const breakers: DashboardSnapshotEvent['breakers'] = [];
  for (const track of tracks) {
    if (track.view !== undefined) breakers.push({ ...track.view, history: track.historyOver(slots), transitions: track.transitions });
  }
  return { version: 1, ...head, sampleTimes: slots.map((slot) => sampleTimes[slot]!), breakers, instances, families: [...families] };
}

/** Another instance, as its heartbeat in the fleet view shows it. */
export function peerViewOf(instance: FleetInstance): DashboardInstanceView {
  const breakers = Object.create(null) as DashboardInstanceView['breakers'];
  for (const [name, view] of Object.entries(instance.breakers)) {
    const store = view.store === 'shared' || view.store === 'local_fallback' || view.store === 'unreadable' ? view.store : undefined;
    breakers[name] = {
      state: (Object.hasOwn(STATE_TABLE, view.state) ? view.state : 'closed') as CircuitState,
      failureRate: view.failureRate,
      slowCallRate: view.slowCallRate,
      ...(store !== undefined ? { store } : {}),
    };
  }
  return { id: `${instance.host}:${instance.pid}`, self: false, breakers };
}

export function instanceViewOf(id: string, tracks: ReadonlyMap<string, BreakerTrack>): DashboardInstanceView {
  // no prototype: a breaker may be named "__proto__"
  const breakers = Object.create(null) as DashboardInstanceView['breakers'];
  for (const [name, track] of tracks) {
    const view = track.view;
    if (view === undefined) continue;
    breakers[name] = { state: view.state, failureRate: view.failureRate, slowCallRate: view.slowCallRate, ...(view.store !== undefined ? { store: view.store } : {}) };
  }
  return { id, self: true, breakers };
}
