#!/usr/bin/env node
// The nestjs-breaker command (replay, suggest, example-trace: see docs/tuning.md). It runs the
// built package, so that the command and `import 'nestjs-breaker'` share one engine.
let main;
try {
  ({ main } = await import('../dist/esm/cli/main.js'));
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
  process.stderr.write('nestjs-breaker: the package is not built (no dist/esm/cli/main.js): run `npm run build` in its folder first\n');
  process.exit(1);
}
process.exitCode = await main(process.argv.slice(2));
