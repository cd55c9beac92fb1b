/**
 * Where the payments service answers: the app's own {@link PaymentsDownstream} (the default, started
 * with the app), or an external one given by PAYMENTS_URL, so that several instances of the app
 * share one dependency (and, with REDIS_URL, one breaker state).
 */
export abstract class PaymentsEndpoint {
  /** Base URL, e.g. `http://127.0.0.1:3001` (no trailing slash). */
  abstract readonly url: string;
  /** True when the service runs elsewhere: this app cannot switch its behaviour (/chaos/payments). */
  abstract readonly external: boolean;
}

/** A payments service this app did not start (PAYMENTS_URL). */
export class ExternalPaymentsEndpoint extends PaymentsEndpoint {
  readonly url: string;
  readonly external = true;

  /** `url`: an http(s) URL; a trailing slash is dropped. */
  constructor(url: string) {
    super();
    let parsed: URL | undefined;
    try {
      parsed = new URL(url);
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.search !== '' || parsed.hash !== '') {
      throw new TypeError(`the payments URL must be an http(s) URL without query or fragment, e.g. http://127.0.0.1:3001; got ${JSON.stringify(url)}`);
    }
    this.url = parsed.href.replace(/\/+$/, '');
  }
}
