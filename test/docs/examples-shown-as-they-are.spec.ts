/**
 * Examples in docs/ that are test files: the page shows the file as it is, so what readers copy is
 * what `npm test` runs.
 */
import { describe, expect, it } from '@jest/globals';
import { read } from './markdown.js';

/** Each page and the test file one of its code blocks shows whole. */
const SHOWN = [{ page: 'docs/testing.md', file: 'test/docs/examples/testing-your-app.spec.ts' }];

function codeBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```\w*\n([\s\S]*?)^```$/gm)].map((match) => match[1]!);
}

describe('examples shown in docs', () => {
  it.each(SHOWN)('$page shows $file as it is', ({ page, file }) => {
    expect(codeBlocks(read(page))).toContain(read(file));
  });

  it('the check sees a difference: the same file with one line changed is not shown', () => {
    const { page, file } = SHOWN[0]!;
    const changed = read(file).replace('clock.advance(10_000)', 'clock.advance(9_999)');
    expect(changed).not.toBe(read(file));
    expect(codeBlocks(read(page))).not.toContain(changed);
  });
});
