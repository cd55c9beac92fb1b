/**
 * Runs Prometheus' promtool (Debian package `prometheus`). PROMTOOL overrides the binary: .ci/run
 * sets it from .ci/ensure-promtool.
 */
import { execFile } from 'node:child_process';

export const PROMTOOL = process.env.PROMTOOL ?? 'promtool';

export function promtoolMissing(binary: string): string {
  return `promtool not found (tried "${binary}"): install the Debian package prometheus, or set PROMTOOL to a promtool binary (PROMTOOL=\$(.ci/ensure-promtool) takes one out of that package).`;
}

export interface PromtoolResult {
  readonly code: number;
  /** stdout and stderr together, as promtool splits its report between them. */
  readonly output: string;
}

/** Runs `binary` with `args`, writing `stdin` to it if given; resolves with its exit code and output. */
export function runPromtool(binary: string, args: readonly string[], stdin?: string): Promise<PromtoolResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(binary, args, { timeout: 60_000 }, (error, stdout, stderr) => {
      if (error !== null && (error as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(new Error(promtoolMissing(binary)));
        return;
      }
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
    // a missing binary closes stdin at once: its EPIPE is reported by the callback above
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(stdin ?? '');
  });
}

export function promtool(args: readonly string[], stdin?: string): Promise<PromtoolResult> {
  return runPromtool(PROMTOOL, args, stdin);
}
