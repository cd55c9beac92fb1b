/**
 * The dashboard's server side: samples every breaker on one timer (snapshot and totals, never a
 * per-call listener), records transitions from `stateChanges$`, and writes the event stream to each
 * connected page, coalescing changes so that a breaker produces at most one `breaker` event per
 * {@link MIN_FLUSH_INTERVAL_MS} whatever happens to it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { LoggerService, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import { CircuitBreakerRegistry } from '../circuit-breaker.registry.js';
import type { StateChangeEvent } from '../core/circuit-breaker.js';
import { cancelTimer, scheduleTimer } from '../core/clock.js';
import { BreakerTrack } from './breaker-track.js';
import {
  CIRCUIT_BREAKER_DASHBOARD_OPTIONS,
  HEARTBEAT_INTERVAL_MS,
  MIN_FLUSH_INTERVAL_MS,
  RECONNECT_DELAY_MS,
  STALL_LIMIT_MS,
} from './circuit-breaker-dashboard.options.js';
import type { ResolvedDashboardOptions } from './circuit-breaker-dashboard.options.js';
import type { DashboardInstanceView, DashboardSamplePoint, DashboardSnapshotEvent } from './dashboard-events.js';
import { instanceViewOf, peerViewOf, snapshotOf } from './dashboard-snapshot.js';
import { TransitionLog } from './transition-log.js';
import { FamilyBoard } from './family-board.js';
import { DashboardViewer } from './dashboard-viewer.js';

export const MISSING_REGISTRY_MESSAGE =
  'CircuitBreakerDashboardModule needs the CircuitBreakerRegistry of CircuitBreakerModule, which this application does not provide. ' +
  'Import CircuitBreakerModule.forRoot() (or forRootAsync()) in your application module, leaving isGlobal at its default (true).';

/** Transitions kept for streams that lag; one that falls further behind gets a snapshot instead. */
const TRANSITIONS_KEPT = 256;

/** What the hub holds now, for tests and benchmarks (not part of the stream). */
export interface DashboardHubStats {
  viewers: number;
  congestedViewers: number;
  /** Bytes written to all streams and not yet taken by their clients. */
  bufferedBytes: number;
  breakers: number;
}

type Phase = 'created' | 'running' | 'closed';

@Injectable()
export class DashboardHub implements OnModuleInit, OnModuleDestroy {
  private readonly registry: CircuitBreakerRegistry;
  /** Families of keyed breakers: one row each (family-board.ts). */
  private readonly families: FamilyBoard;
  private readonly tracks = new Map<string, BreakerTrack>();
  private readonly viewers = new Set<DashboardViewer>();
  private readonly capacity: number;
  private readonly sampleTimes: Float64Array;
  /** Index of the newest sample (its slot is `sampleNo % capacity`); -1 before the first. */
  private sampleNo = -1;
  private sampleText = '';
  private readonly transitions = new TransitionLog(TRANSITIONS_KEPT);
  private seq = 0;
  private instancesText = '';
  /** The other instances as the last fleet view read showed them. */
  private peers: DashboardInstanceView[] = [];
  private fleetReading = false;
  private peersChanged = false;
  private instancesSeq = 0;
  /** Bumped on any change; the snapshot text is rebuilt only when it moved. */
  private generation = 0;
  private snapshotCache: { generation: number; text: string } | undefined;
  private sampleTimer: unknown;
  private flushTimer: unknown;
  private heartbeatTimer: unknown;
  private lastFlushAt = Number.NEGATIVE_INFINITY;
  private removedSinceRefresh = false;
  private subscription: Subscription | undefined;
  private phase: Phase = 'created';
  private readonly logger: LoggerService | undefined;
  readonly instanceId = `${hostname()}:${process.pid}`;

  constructor(
    @Inject(CIRCUIT_BREAKER_DASHBOARD_OPTIONS) private readonly options: ResolvedDashboardOptions,
    @Optional() @Inject(CircuitBreakerRegistry) registry: CircuitBreakerRegistry | undefined,
  ) {
    if (registry === undefined || registry === null) throw new Error(MISSING_REGISTRY_MESSAGE);
    this.registry = registry;
    this.families = new FamilyBoard(registry);
    const logger = registry.moduleOptions.logger;
    this.logger = logger === false ? undefined : (logger ?? new Logger('CircuitBreakerDashboard'));
    this.capacity = Math.ceil(options.historyMs / options.sampleIntervalMs);
    this.sampleTimes = new Float64Array(this.capacity);
  }

  onModuleInit(): void {
    this.phase = 'running';
    this.subscription = this.registry.stateChanges$.subscribe((event) => this.contained('recording a transition', () => this.onTransition(event)));
    this.sample();
  }

  onModuleDestroy(): void {
    this.phase = 'closed';
    this.subscription?.unsubscribe();
    for (const timer of [this.sampleTimer, this.flushTimer, this.heartbeatTimer]) if (timer !== undefined) cancelTimer(this.options.clock, timer);
    this.sampleTimer = this.flushTimer = this.heartbeatTimer = undefined;
    for (const viewer of [...this.viewers]) viewer.end();
    this.viewers.clear();
  }

  /** Answers an event-stream request on the raw Node.js request and response (Express and Fastify alike). */
  connect(request: IncomingMessage, response: ServerResponse): void {
    if (this.phase !== 'running') return DashboardViewer.refuse(response, 'The application is shutting down.');
    if (this.viewers.size >= this.options.maxViewers) {
      return DashboardViewer.refuse(response, `At most ${this.options.maxViewers} dashboard viewers at once; try again shortly.`);
    }
    const viewer: DashboardViewer | undefined = DashboardViewer.accept(
      request,
      response,
      () => this.requestFlush(),
      () => this.disconnect(viewer!),
    );
    if (viewer === undefined) return;
    this.viewers.add(viewer);
    this.refresh();
    viewer.write(`retry: ${RECONNECT_DELAY_MS}\n\n${this.snapshotFor(viewer)}`, this.options.clock.now());
    this.heartbeatTimer ??= this.scheduleHeartbeat();
  }

  stats(): DashboardHubStats {
    let congestedViewers = 0;
    let bufferedBytes = 0;
    for (const viewer of this.viewers) {
      if (viewer.congested) congestedViewers++;
      bufferedBytes += viewer.bufferedBytes;
    }
    return { viewers: this.viewers.size, congestedViewers, bufferedBytes, breakers: this.tracks.size };
  }

  // ------------------------------------------------------------------------ what happens

  /**
   * Runs work that timers and the transition stream start: a throw there would be an uncaught
   * exception (the process's end), so it is reported through the logger and the dashboard carries on.
   */
  private contained(what: string, work: () => void): void {
    try {
      work();
    } catch (error) {
      this.logger?.error(`CircuitBreakerDashboard: ${what} failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
    }
  }

  private sample(): void {
    const clock = this.options.clock;
    // The next sample first, so that one failing sample does not end the sampling.
    this.sampleTimer = scheduleTimer(clock, () => this.contained('sampling the breakers', () => this.sample()), this.options.sampleIntervalMs);
    // whole milliseconds: the default clock has sub-millisecond precision nobody reads here
    const now = Math.round(clock.now());
    this.sampleNo++;
    const slot = this.sampleNo % this.capacity;
    this.sampleTimes[slot] = now;
    const points: Record<string, DashboardSamplePoint> = Object.create(null) as Record<string, DashboardSamplePoint>;
    const present = new Set<string>();
    for (const breaker of this.registry.getAll()) {
      present.add(breaker.name);
      points[breaker.name] = this.trackOf(breaker.name)!.sample(slot, now);
    }
    for (const name of this.tracks.keys()) {
      if (!present.has(name)) {
        this.tracks.delete(name);
        this.removedSinceRefresh = true;
      }
    }
    this.families.dirty = true;
    this.sampleText = `event: sample\ndata: ${JSON.stringify({ t: now, points })}\n\n`;
    this.generation++;
    this.requestFlush();
    this.readFleet();
  }

  /**
   * The other instances, from the fleet view (the store's heartbeats): read on the sample timer
   * while someone watches, one read at a time, never on a call's path. Without a store that keeps
   * heartbeats the page shows this instance only.
   */
  private readFleet(): void {
    if (this.fleetReading || this.viewers.size === 0 || this.phase !== 'running') return;
    this.fleetReading = true;
    this.registry
      .fleet()
      .then((view) => {
        if (this.phase !== 'running') return;
        const peers = view.instances.filter((instance) => !instance.self).map(peerViewOf);
        if (JSON.stringify(peers) === JSON.stringify(this.peers)) return;
        this.peers = peers;
        this.peersChanged = true;
        this.generation++;
        this.requestFlush();
      })
      .catch((error: unknown) => this.logger?.warn(`circuit breaker dashboard: reading the fleet view failed: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => (this.fleetReading = false));
  }

  private onTransition(event: StateChangeEvent): void {
    const track = this.trackOf(event.name);
    if (track === undefined) {
      // A key of a family: its family's row changes (shown at the next flush, not per key).
      if (!this.families.isMember(event.name)) return;
      this.families.dirty = true;
      this.generation++;
      this.requestFlush();
      return;
    }
    this.transitions.add(track.addTransition(event, this.transitions.nextId()));
    this.generation++;
    this.requestFlush();
  }

  /** The track of a breaker the registry has, created on first sight (or anew when the registry rebuilt it). */
  private trackOf(name: string): BreakerTrack | undefined {
    // has() before get(): get() would build a breaker for an unknown name.
    if (!this.registry.has(name)) return undefined;
    const breaker = this.registry.get(name);
    let track = this.tracks.get(name);
    if (track === undefined || track.breaker !== breaker) {
      track = new BreakerTrack(breaker, this.capacity);
      track.seq = ++this.seq;
      this.tracks.set(name, track);
    }
    return track;
  }

  private disconnect(viewer: DashboardViewer): void {
    this.viewers.delete(viewer);
    if (this.viewers.size > 0) return;
    for (const timer of [this.flushTimer, this.heartbeatTimer]) if (timer !== undefined) cancelTimer(this.options.clock, timer);
    this.flushTimer = this.heartbeatTimer = undefined;
  }

  // ------------------------------------------------------------------------ writing

  /** At most one flush per MIN_FLUSH_INTERVAL_MS: changes in between are coalesced into it. */
  private requestFlush(): void {
    if (this.flushTimer !== undefined || this.viewers.size === 0 || this.phase !== 'running') return;
    const clock = this.options.clock;
    const delay = Math.max(0, this.lastFlushAt + MIN_FLUSH_INTERVAL_MS - clock.now());
    this.flushTimer = scheduleTimer(clock, () => this.contained('writing to the event streams', () => this.flush()), delay);
  }

  private flush(): void {
    this.flushTimer = undefined;
    const now = this.options.clock.now();
    this.lastFlushAt = now;
    this.refresh();
    for (const viewer of this.viewers) {
      if (!viewer.congested) viewer.write(this.deltaFor(viewer), now);
    }
  }

  private heartbeat(): void {
    // The next one first, so that one failing heartbeat does not end them (disconnect() cancels it when the last viewer goes).
    this.heartbeatTimer = this.scheduleHeartbeat();
    const now = this.options.clock.now();
    for (const viewer of [...this.viewers]) {
      if (!viewer.congested) viewer.write(': heartbeat\n\n', now);
      else if (now - viewer.congestedSince! >= STALL_LIMIT_MS) viewer.destroy();
    }
  }

  private scheduleHeartbeat(): unknown {
    return scheduleTimer(this.options.clock, () => this.contained('writing a heartbeat', () => this.heartbeat()), HEARTBEAT_INTERVAL_MS);
  }

  /** Rebuilds what changed: each dirty breaker's event, and the instances view. */
  private refresh(): void {
    let changed = this.removedSinceRefresh || this.peersChanged;
    this.removedSinceRefresh = this.peersChanged = false;
    if (this.families.refresh()) this.generation++;
    for (const track of this.tracks.values()) {
      if (track.dirty && track.refresh()) {
        track.seq = ++this.seq;
        changed = true;
      }
    }
    if (!changed) return;
    this.generation++;
    const instances = `event: instances\ndata: ${JSON.stringify(this.instances())}\n\n`;
    if (instances !== this.instancesText) {
      this.instancesText = instances;
      this.instancesSeq++;
    }
  }

  /** Everything newer than what `viewer` has; a snapshot when it has nothing or missed transitions. */
  private deltaFor(viewer: DashboardViewer): string {
    if (viewer.needsSnapshot || !this.transitions.reaches(viewer.lastTransitionId)) return this.snapshotFor(viewer);
    let out = '';
    for (const name of viewer.sent.keys()) {
      if (!this.tracks.has(name)) {
        out += `event: removed\ndata: ${JSON.stringify({ name })}\n\n`;
        viewer.sent.delete(name);
      }
    }
    for (const [name, track] of this.tracks) {
      if (viewer.sent.get(name) !== track.seq && track.eventText !== '') {
        out += track.eventText;
        viewer.sent.set(name, track.seq);
      }
    }
    if (viewer.lastTransitionId < this.transitions.lastId) {
      out += `event: transitions\ndata: ${this.transitions.jsonAfter(viewer.lastTransitionId)}\n\n`;
      viewer.lastTransitionId = this.transitions.lastId;
    }
    if (viewer.sampleNo !== this.sampleNo) {
      out += this.sampleText;
      viewer.sampleNo = this.sampleNo;
    }
    if (viewer.instancesSeq !== this.instancesSeq) {
      out += this.instancesText;
      viewer.instancesSeq = this.instancesSeq;
    }
    out += this.families.deltaFor(viewer);
    return out;
  }

  private snapshotFor(viewer: DashboardViewer): string {
    if (this.snapshotCache?.generation !== this.generation) {
      this.snapshotCache = { generation: this.generation, text: `event: snapshot\ndata: ${JSON.stringify(this.snapshot())}\n\n` };
    }
    viewer.needsSnapshot = false;
    viewer.sent.clear();
    for (const [name, track] of this.tracks) viewer.sent.set(name, track.seq);
    viewer.lastTransitionId = this.transitions.lastId;
    viewer.sampleNo = this.sampleNo;
    viewer.instancesSeq = this.instancesSeq;
    this.families.markSent(viewer);
    return this.snapshotCache.text;
  }

  private snapshot(): DashboardSnapshotEvent {
    const count = Math.min(this.sampleNo + 1, this.capacity);
    const slots: number[] = [];
    for (let n = this.sampleNo - count + 1; n <= this.sampleNo; n++) slots.push(n % this.capacity);
    return snapshotOf(this.tracks.values(), slots, this.sampleTimes, this.instances(), {
      at: Math.round(this.options.clock.now()),
      instanceId: this.instanceId,
      sampleIntervalMs: this.options.sampleIntervalMs,
      historyMs: this.options.historyMs,
    }, this.families.views);
  }

  /** This instance, then the other live instances of the fleet view (when its breakers use a store). */
  private instances(): DashboardInstanceView[] {
    return [instanceViewOf(this.instanceId, this.tracks), ...this.peers];
  }
}
