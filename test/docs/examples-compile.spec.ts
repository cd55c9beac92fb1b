/**
 * Every TypeScript example in README.md and docs/*.md that starts with an `import` is a complete
 * file: it compiles as given against the package's public entry points. (Shorter snippets that
 * start with something else are fragments and are not checked.)
 */
import { describe, expect, it } from '@jest/globals';
import { documentationFiles, read } from './markdown.js';
import { diagnosticsOf } from './typecheck.js';

interface Example {
  readonly where: string;
  readonly code: string;
}

function completeExamples(file: string): Example[] {
  const markdown = read(file);
  return [...markdown.matchAll(/^```(?:ts|typescript)\n([\s\S]*?)^```$/gm)]
    .filter((match) => match[1]!.startsWith('import '))
    .map((match) => ({ where: `${file}:${markdown.slice(0, match.index).split('\n').length}`, code: match[1]! }));
}

describe('complete examples in README.md and docs/*.md', () => {
  const examples = documentationFiles().flatMap(completeExamples);

  it('there are some (README Usage, health, Prometheus, admin, dashboard, testing, ...)', () => {
    expect(examples.length).toBeGreaterThanOrEqual(7);
  });

  it('each compiles as given', () => {
    const diagnostics = diagnosticsOf(examples.map((example) => example.code));
    const failures = examples.flatMap((example, i) => diagnostics[i]!.map((message) => `${example.where}: ${message}`));
    expect(failures).toEqual([]);
  }, 180_000);
});
