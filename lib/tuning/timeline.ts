/**
 * Counts per slice of time, for the report's charts. The span of a trace is unknown while it
 * streams, so slices start at 1 s and double (adjacent pairs merged) whenever the trace outgrows
 * {@link MAX_SLICES}: memory stays bounded and every series of one breaker slices alike, since they
 * all see the same start times.
 */
export const MAX_SLICES = 2_048;
const FIRST_SLICE_MS = 1_000;

export class Timeline<S extends string> {
  sliceMs = FIRST_SLICE_MS;
  /** One array of counts per series, index = slice number from `originMs`. */
  readonly counts: Record<S, number[]>;

  constructor(
    /** Start of slice 0, epoch ms. */
    readonly originMs: number,
    readonly series: readonly S[],
  ) {
    this.counts = Object.fromEntries(series.map((name) => [name, [] as number[]])) as unknown as Record<S, number[]>;
  }

  /** Number of slices in use. */
  get length(): number {
    let length = 0;
    for (const name of this.series) length = Math.max(length, this.counts[name].length);
    return length;
  }

  add(series: S, atMs: number): void {
    let slice = Math.floor((atMs - this.originMs) / this.sliceMs);
    if (slice < 0) slice = 0;
    while (slice >= MAX_SLICES) {
      this.coarsen();
      slice = Math.floor((atMs - this.originMs) / this.sliceMs);
    }
    const counts = this.counts[series];
    while (counts.length <= slice) counts.push(0);
    counts[slice]!++;
  }

  private coarsen(): void {
    this.sliceMs *= 2;
    for (const name of this.series) {
      const counts = this.counts[name];
      const merged: number[] = [];
      for (let i = 0; i < counts.length; i += 2) merged.push(counts[i]! + (counts[i + 1] ?? 0));
      this.counts[name] = merged;
    }
  }
}
