/**
 * The package's version, given to the meter as its instrumentation scope version. A constant rather
 * than a read of package.json (whose place differs between the ESM and CJS builds); a test keeps the
 * two equal.
 */
export const PACKAGE_VERSION = '0.1.0';
