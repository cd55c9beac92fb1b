/**
 * The built package (dist/) for tests that run the `nestjs-breaker` command as a user would: built
 * here when older than its sources (CI builds it before the tests). Builds of one checkout are
 * serialised across processes with the same lock the fleet tests take (test/fleet/fleet.ts), so
 * two test files never rebuild dist/ at once.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = join(root, 'bin/nestjs-breaker.mjs');

function* files(dir: string): Generator<string> {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else yield path;
  }
}

const mtime = (path: string): number => (existsSync(path) ? statSync(path).mtimeMs : Number.NEGATIVE_INFINITY);

function stale(): boolean {
  const outputs = [...files(join(root, 'dist/esm'))].filter((f) => f.endsWith('.js'));
  // build.mjs writes dist/cjs/package.json last: without it the build did not finish
  if (outputs.length === 0 || !existsSync(join(root, 'dist/cjs/package.json'))) return true;
  const oldest = Math.min(...outputs.map(mtime), mtime(join(root, 'dist/cjs/package.json')));
  const inputs = [...files(join(root, 'lib'))].filter((f) => f.endsWith('.ts'));
  const newest = Math.max(...inputs.map(mtime), ...['tsconfig.json', 'tsconfig.build.json', 'package.json', 'scripts/build.mjs'].map((f) => mtime(join(root, f))));
  return oldest < newest;
}

export function runNode(args: readonly string[], options: { cwd?: string; input?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, [...args], { cwd: options.cwd ?? root, maxBuffer: 256 * 1024 * 1024, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') reject(error);
      else resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
    });
    if (options.input !== undefined) child.stdin!.end(options.input);
    else child.stdin!.end();
  });
}

/** Makes sure dist/ is at least as new as lib/; returns whether it had to build. */
export async function ensureBuilt(): Promise<boolean> {
  const lock = join(tmpdir(), `nestjs-breaker-build-${createHash('sha1').update(root).digest('hex').slice(0, 12)}.lock`);
  for (let attempt = 0; ; attempt++) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const held = statSync(lock, { throwIfNoEntry: false });
      // A lock older than a build can take was left by a killed process.
      if (held !== undefined && Date.now() - held.mtimeMs > 180_000) rmSync(lock, { recursive: true, force: true });
      else if (attempt > 1_200) throw new Error(`another build of ${root} has held ${lock} for too long`);
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  try {
    if (!stale()) return false;
    const { code, stdout, stderr } = await runNode([join(root, 'scripts/build.mjs')]);
    if (code !== 0) throw new Error(`scripts/build.mjs failed (${code}):\n${stdout}${stderr}`);
    return true;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
