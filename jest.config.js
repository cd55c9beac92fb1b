// Jest runs in ESM mode (node --experimental-vm-modules, as package.json's test script does): NestJS 12
// is ESM-only, and a CommonJS transform cannot load it ("Must use import to load ES Module").
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  // Real apps boot over real sockets in e2e tests; on a loaded 2-core CI machine the first Fastify or
  // GraphQL boot of a file can take seconds. Time inside tests comes from ManualClock, not from this.
  testTimeout: 30_000,
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.spec.ts'],
  // The consumer apps (test/consumers/) are separate packages with their own dependencies, run by
  // test/consumers/run.mjs against the packed tarball; never by this suite.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/consumers/'],
  modulePathIgnorePatterns: ['<rootDir>/test/consumers/'],
  extensionsToTreatAsEsm: ['.ts'],
  // The sample app imports the package by its public name; tests run it against the sources.
  moduleNameMapper: {
    '^nestjs-breaker$': '<rootDir>/lib/index.ts',
    '^nestjs-breaker/(health|prometheus|redis|dashboard|store|http|opentelemetry|tuning)$': '<rootDir>/lib/$1/index.ts',
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        module: { type: 'es6' },
        jsc: {
          target: 'es2022',
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
          keepClassNames: true,
        },
      },
    ],
  },
};
