/**
 * An `@nestjs/axios` HttpService look-alike for e2e apps: `get(url)` returns a cold Observable and
 * the request happens at subscribe, answering on a later microtask like real I/O. The test sets
 * what the "remote service" does; unsubscribing aborts a pending request.
 */
import { Injectable } from '@nestjs/common';
import { Observable } from 'rxjs';

export interface FakeResponse<T> {
  data: T;
  status: number;
}

@Injectable()
export class HttpService {
  /** URLs requested (one per subscription that reached the "network"). */
  readonly requests: string[] = [];
  aborted = 0;
  mode: 'ok' | 'fail' | 'hang' = 'fail';

  get<T = { url: string }>(url: string): Observable<FakeResponse<T>> {
    return new Observable<FakeResponse<T>>((subscriber) => {
      this.requests.push(url);
      let done = false;
      if (this.mode !== 'hang') {
        const mode = this.mode;
        queueMicrotask(() => {
          if (done) return;
          done = true;
          if (mode === 'fail') {
            subscriber.error(new Error(`GET ${url}: connect ECONNREFUSED`));
          } else {
            subscriber.next({ data: { url } as T, status: 200 });
            subscriber.complete();
          }
        });
      }
      return () => {
        if (!done) this.aborted++;
        done = true;
      };
    });
  }
}
