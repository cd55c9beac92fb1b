#!/usr/bin/env node
/**
 * The consumer-app matrix: the package as a user installs it. `npm pack` (which builds), then each
 * app below is copied with the sources of shared/ and README Usage as it is (src/usage.ts, the first
 * code block under "## Usage" in README.md) to a scratch folder outside the repository,
 * installs the tarball and its own dependencies from the npm registry, builds with its own tsc
 * (type-checking the package's declarations as that app sees them), and runs as `node dist/main.js`
 * on every Node binary given, while driver.mjs checks it over real HTTP.
 *
 *   node test/consumers/run.mjs [--node <binary>]... [--app <name>]... [--keep]
 *
 * --node  run the apps on this Node binary (repeatable; default: the Node running this script)
 * --app   only this app (repeatable; default: all)
 * --keep  keep the scratch folder (its path is printed) to run an app by hand
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, parse } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { CASES, drive, startDependency } from './driver.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '../..');

/** `provesOneCopy`: main.ts loads the package both through require and import and prints "one copy: ..." when Nest sees one registry. */
const APPS = [
  { name: 'nest11-cjs', nest: 11, provesOneCopy: false },
  { name: 'nest11-cjs-fastify', nest: 11, provesOneCopy: true },
  { name: 'nest12-esm', nest: 12, provesOneCopy: true },
];

const { values: args } = parseArgs({
  options: {
    node: { type: 'string', multiple: true, default: [process.execPath] },
    app: { type: 'string', multiple: true },
    keep: { type: 'boolean', default: false },
  },
});
const apps = args.app === undefined ? APPS : args.app.map((name) => APPS.find((app) => app.name === name) ?? usage(`unknown app "${name}"`));
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1_000).toFixed(1)}s`;
const say = (line) => console.log(`== consumers [${elapsed()}]: ${line}`);

function usage(message) {
  console.error(`${message}; apps: ${APPS.map((app) => app.name).join(', ')}`);
  process.exit(2);
}

/** Runs a command; resolves with its output, rejects with the output in the message. */
function run(command, commandArgs, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, commandArgs, { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${commandArgs.join(' ')} (in ${cwd}) exited with ${code}:\n${output}`));
    });
  });
}

/** The first node_modules folder Node's resolution would reach from `dir` upwards, if any. */
function nodeModulesAbove(dir) {
  for (let at = dir; ; at = dirname(at)) {
    if (existsSync(join(at, 'node_modules'))) return join(at, 'node_modules');
    if (at === parse(at).root) return undefined;
  }
}

/**
 * A scratch folder with no node_modules above it: one there (a shared machine's /tmp/node_modules)
 * would let an app resolve packages it did not install, and the matrix would prove nothing.
 */
function scratchFolder() {
  const rejected = [];
  for (const base of new Set([tmpdir(), '/var/tmp', homedir()].filter((dir) => existsSync(dir)).map((dir) => realpathSync(dir)))) {
    const above = nodeModulesAbove(base);
    if (above === undefined) return mkdtempSync(join(base, 'nestjs-breaker-consumers-'));
    rejected.push(above);
  }
  throw new Error(`every scratch location has a node_modules folder above it (${rejected.join(', ')}), from which an app could resolve packages it did not install: set TMPDIR to a folder without one`);
}

/**
 * README Usage, as it is: the first code block under "## Usage". The apps import its AppModule, so
 * README and the matrix cannot drift apart.
 */
function readmeUsage() {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Usage\n');
  if (start === -1) throw new Error('README.md has no "## Usage" section');
  const next = readme.indexOf('\n## ', start + 1);
  const block = /^```\w*\n([\s\S]*?)^```/m.exec(readme.slice(start, next === -1 ? undefined : next));
  if (block === null) throw new Error('README.md has no code block under "## Usage"');
  return block[1];
}

function major(dir, pkg) {
  return Number(JSON.parse(readFileSync(join(dir, 'node_modules', pkg, 'package.json'), 'utf8')).version.split('.')[0]);
}

async function prepare(work, app) {
  const dir = join(work, app.name);
  cpSync(join(here, app.name), dir, { recursive: true, filter: (src) => !/[/\\](node_modules|dist)$/.test(src) });
  cpSync(join(here, 'shared/src'), join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'src/usage.ts'), `// README.md, "## Usage", as it is (copied by test/consumers/run.mjs)\n${readmeUsage()}`);
  const { scripts } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const jest = scripts['test:e2e'] !== undefined;
  if (jest) cpSync(join(here, 'shared/test'), join(dir, 'test'), { recursive: true });
  await run('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error'], dir);
  for (const pkg of ['@nestjs/common', '@nestjs/core']) {
    if (major(dir, pkg) !== app.nest) throw new Error(`${app.name}: ${pkg} ${major(dir, pkg)} was installed, the app pins NestJS ${app.nest}`);
  }
  await run('npm', ['run', 'build', '--silent'], dir);
  // The app's own Jest run (ts-jest or Jest's ESM mode): Jest loads the build of its condition, not module-sync's.
  if (jest) await run('npm', ['run', 'test:e2e', '--silent'], dir);
  return { ...app, dir, jest, terminusMajor: major(dir, '@nestjs/terminus') };
}

/** Starts `node dist/main.js` on port 0, its dependency at `dependencyUrl`; resolves once it prints its port. */
function start(node, app, dependencyUrl) {
  const env = { ...process.env, PORT: '0', NO_COLOR: '1', PAYMENTS_URL: dependencyUrl, QUOTES_URL: dependencyUrl };
  const child = spawn(node, ['dist/main.js'], { cwd: app.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const instance = { child, log: '', exited: new Promise((resolve) => child.once('exit', resolve)) };
  child.stdout.setEncoding('utf8').on('data', (chunk) => (instance.log += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk) => (instance.log += chunk));
  instance.ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('did not print its port within 30 s')), 30_000);
    const check = () => {
      const match = /consumer listening on port (\d+)/.exec(instance.log);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout.on('data', check);
    instance.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before listening`));
    });
  });
  return instance;
}

async function stop(instance) {
  if (instance.child.exitCode === null && instance.child.signalCode === null) {
    instance.child.kill('SIGTERM');
    const timer = setTimeout(() => instance.child.kill('SIGKILL'), 5_000);
    await instance.exited;
    clearTimeout(timer);
  }
}

async function runOn(node, nodeVersion, app) {
  const dependency = await startDependency();
  const instance = start(node, app, dependency.url);
  const outcome = { app: app.name, node: nodeVersion, passed: 0, failures: [] };
  try {
    const port = await instance.ready;
    if (app.provesOneCopy && !/^one copy: /m.test(instance.log)) outcome.failures.push('main.ts did not print its "one copy: ..." line');
    if (/Support for loading ES Module in require\(\)/.test(instance.log)) outcome.failures.push('Node warned about require() of an ES module');
    const results = await drive(`http://127.0.0.1:${port}`, { terminusMajor: app.terminusMajor }, dependency);
    outcome.passed = results.filter((result) => result.ok).length;
    for (const result of results) if (!result.ok) outcome.failures.push(`${result.name}: ${result.error?.message ?? result.error}`);
  } catch (error) {
    outcome.failures.push(`start: ${error.message}`);
  } finally {
    await stop(instance);
    await dependency.close();
  }
  if (outcome.failures.length > 0) outcome.log = instance.log;
  return outcome;
}

const nodes = [];
for (const node of args.node) nodes.push({ node, version: (await run(node, ['--version'], root)).trim() });

let work;
let failed = false;
try {
  work = scratchFolder();
  say(`npm pack (builds the package) into ${work}`);
  await run('npm', ['pack', '--pack-destination', work, '--loglevel=error'], root);
  const tarball = readdirSync(work).find((file) => file.endsWith('.tgz'));
  if (tarball === undefined) throw new Error(`npm pack left no tarball in ${work}`);
  renameSync(join(work, tarball), join(work, 'nestjs-breaker.tgz'));

  say(`npm install, tsc, the apps' own Jest tests: ${apps.map((app) => app.name).join(', ')} (in parallel)`);
  const settled = await Promise.allSettled(
    apps.map(async (app) => {
      const appStarted = Date.now();
      const ready = await prepare(work, app);
      const steps = ready.jest ? 'installed, built and its Jest e2e test passed' : 'installed and built';
      say(`${app.name} ${steps} in ${((Date.now() - appStarted) / 1_000).toFixed(1)}s (Terminus ${ready.terminusMajor})`);
      return ready;
    }),
  );
  const unprepared = settled.filter((result) => result.status === 'rejected');
  if (unprepared.length > 0) throw new Error(unprepared.map((result) => result.reason?.message ?? result.reason).join('\n'));
  const prepared = settled.map((result) => result.value);

  const outcomes = [];
  for (const { node, version } of nodes) {
    for (const app of prepared) {
      const outcome = await runOn(node, version, app);
      outcomes.push(outcome);
      const verdict = outcome.failures.length === 0 ? 'ok  ' : 'FAIL';
      say(`${verdict} ${app.name} on Node ${version}: ${outcome.passed}/${CASES.length} cases`);
      for (const failure of outcome.failures) console.error(`     ${failure}`);
      if (outcome.log !== undefined) console.error(`     --- ${app.name} log:\n${outcome.log.replace(/^/gm, '     | ')}`);
    }
  }
  failed = outcomes.some((outcome) => outcome.failures.length > 0);
  say(`${outcomes.filter((outcome) => outcome.failures.length === 0).length}/${outcomes.length} app runs passed`);
} catch (error) {
  failed = true;
  console.error(`consumers: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  if (work !== undefined && args.keep) say(`kept ${work}`);
  else if (work !== undefined) rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
