/**
 * A list of listeners that costs nothing while empty: callers test `empty` before building an event.
 * Subscribing copies the array, so a listener that unsubscribes (or subscribes) while an event is
 * delivered changes the next delivery, not this one. A throwing listener is reported and the
 * others still run.
 */
const NONE: readonly never[] = [];

export class Listeners<E> {
  private list: readonly ((event: E) => void)[] = NONE;
  /** True while nobody listens. */
  empty = true;

  add(listener: (event: E) => void): () => void {
    this.set([...this.list, listener]);
    return () => this.set(this.list.filter((l) => l !== listener));
  }

  emit(event: E, report: (error: unknown) => void): void {
    for (const listener of this.list) {
      try {
        listener(event);
      } catch (error) {
        report(error);
      }
    }
  }

  private set(list: readonly ((event: E) => void)[]): void {
    this.empty = list.length === 0;
    this.list = this.empty ? NONE : list;
  }
}
