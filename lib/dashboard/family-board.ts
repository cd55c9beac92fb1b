/**
 * The dashboard's families of keyed breakers: one row per family (keys per state, its open keys up
 * to a cap), sent as the `families` event whenever a row changes and in every snapshot. A family's
 * keys never get a card each: a family may hold a thousand of them. Rows are rebuilt when the hub
 * refreshes (at most once per flush), after a sample or a transition of one of their keys.
 */
import type { CircuitBreakerRegistry } from '../circuit-breaker.registry.js';
import type { DashboardFamilyView } from './dashboard-events.js';
import type { DashboardViewer } from './dashboard-viewer.js';

/** Open keys listed per family; the row says how many there are in all. */
export const OPEN_KEYS_SHOWN = 20;

export class FamilyBoard {
  private text = '';
  private rows: DashboardFamilyView[] = [];
  /** Bumped when the rows change. */
  private seq = 0;
  /** What each stream was last sent (a WeakMap: a viewer that goes takes its entry with it). */
  private readonly sent = new WeakMap<DashboardViewer, number>();
  /** Something may have changed since the rows were built. */
  dirty = true;

  constructor(private readonly registry: CircuitBreakerRegistry) {}

  /** The name of a key's breaker (`family:key`) of a family of this registry. */
  isMember(name: string): boolean {
    const colon = name.indexOf(':');
    return colon > 0 && this.registry.hasFamily(name.slice(0, colon));
  }

  get views(): readonly DashboardFamilyView[] {
    return this.rows;
  }

  /** Rebuilds the rows if something may have changed; true when they did. */
  refresh(): boolean {
    if (!this.dirty) return false;
    this.dirty = false;
    const rows: DashboardFamilyView[] = this.registry
      .families()
      .map((family) => family.summary(OPEN_KEYS_SHOWN))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((s) => ({
        name: s.name,
        keys: s.keys,
        maxKeys: s.maxKeys,
        states: { ...s.states },
        openKeys: [...s.openKeys],
        openKeyCount: s.openKeyCount,
        ...(s.overflow !== undefined ? { overflow: s.overflow } : {}),
      }));
    const text = `event: families\ndata: ${JSON.stringify(rows)}\n\n`;
    if (text === this.text) return false;
    this.text = text;
    this.rows = rows;
    this.seq++;
    return true;
  }

  /** The `families` event if `viewer` has not had the current rows (nothing while there is no family at all). */
  deltaFor(viewer: DashboardViewer): string {
    if ((this.sent.get(viewer) ?? 0) === this.seq) return '';
    this.sent.set(viewer, this.seq);
    return this.text;
  }

  /** `viewer` gets the rows in a snapshot. */
  markSent(viewer: DashboardViewer): void {
    this.sent.set(viewer, this.seq);
  }
}
