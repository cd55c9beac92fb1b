/**
 * `CircuitBreakerModule.forFeature(...)` registers breakers with the application's module, so an
 * application with forFeature but no forRoot/forRootAsync, or with `isGlobal: false` (forFeature
 * finds the module only when it is global), cannot work. Raised at bootstrap, in
 * place of Nest's UnknownDependenciesException about an internal token.
 */
export class CircuitBreakerModuleMissingError extends Error {
  override readonly name = 'CircuitBreakerModuleMissingError';

  constructor(
    /** The registration that needs the module, e.g. `CircuitBreakerModule.forFeature({ inventory })`. */
    readonly registration: string,
    /** The modules importing it (empty when Nest does not tell). */
    readonly importers: readonly string[],
  ) {
    super(
      `${registration}${importers.length > 0 ? ` in ${importers.join(', ')}` : ''} needs CircuitBreakerModule.forRoot() or ` +
        'forRootAsync() in the application, global (the default; not `isGlobal: false`), usually imported once in the root module',
    );
  }
}
