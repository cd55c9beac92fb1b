/**
 * README.md is the front door: at most 15 KB; one of each section a newcomer looks for; exactly two
 * Quick start commands; a link to every page of docs/ and a mention of every entry point of the
 * package. Reference material lives in docs/.
 */
import { describe, expect, it } from '@jest/globals';
import { documentationFiles, firstCodeBlockUnder, read, withoutCode } from './markdown.js';

const README_MAX_BYTES = 15_000;

describe('README.md', () => {
  const readme = read('README.md');

  it(`is at most ${README_MAX_BYTES} bytes`, () => {
    expect(Buffer.byteLength(readme, 'utf8')).toBeLessThanOrEqual(README_MAX_BYTES);
  });

  it('has each of Install, Quick start, Usage and Options once', () => {
    const headings = [...withoutCode(readme).matchAll(/^## (.+)$/gm)].map((m) => m[1]!);
    for (const title of ['Install', 'Quick start', 'Usage', 'Options']) expect(headings.filter((h) => h === title)).toEqual([title]);
  });

  it('Quick start is two commands: one installs and runs the sample app, one runs the tests', () => {
    const commands = firstCodeBlockUnder(readme, 'Quick start')
      .split('\n')
      .map((line) => line.replace(/#.*$/, '').trim())
      .filter((line) => line !== '');
    expect(commands).toEqual(['npm ci && npm start', 'npm test']);
  });

  it('links every page of docs/', () => {
    const pages = documentationFiles().filter((file) => file.startsWith('docs/'));
    expect(pages.filter((page) => !readme.includes(`](${page})`) && !readme.includes(`](${page}#`))).toEqual([]);
  });

  it("names every entry point of the package's exports map", () => {
    const pkg = JSON.parse(read('package.json')) as { name: string; exports: Record<string, unknown> };
    const entries = Object.keys(pkg.exports)
      .filter((key) => key !== './package.json')
      .map((key) => (key === '.' ? pkg.name : `${pkg.name}/${key.slice(2)}`));
    expect(entries.filter((entry) => !readme.includes(`\`${entry}\``))).toEqual([]);
  });
});
