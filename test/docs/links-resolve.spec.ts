/**
 * Every relative link in README.md and docs/*.md leads somewhere: to a file or folder of the
 * repository (tracked, or new and not ignored), never outside it, and a `#fragment` to a heading of
 * the target Markdown file, with GitHub's heading slugs. External links are not fetched.
 */
import { describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { documentationFiles, read, repoRoot, withoutCode } from './markdown.js';

/**
 * Whether a path is a file or folder of the repository: one git knows of (tracked, or untracked and
 * not ignored). Outside a git checkout (CI's NestJS 11 step runs a copy without .git), what exists
 * on disk outside the folders .gitignore lists.
 */
function repositoryPaths(): (path: string) => boolean {
  if (!existsSync(join(repoRoot, '.git'))) {
    const ignored = readFileSync(join(repoRoot, '.gitignore'), 'utf8')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line.endsWith('/'));
    return (path) => !ignored.some((dir) => `${path}/`.startsWith(dir)) && existsSync(join(repoRoot, path));
  }
  const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: repoRoot, encoding: 'utf8' });
  const paths = new Set<string>();
  for (const file of out.split('\0').filter((f) => f !== '')) {
    paths.add(file);
    for (let dir = dirname(file); dir !== '.'; dir = dirname(dir)) paths.add(dir);
  }
  return (path) => paths.has(path);
}

/** `[text](target)` and `![alt](target)` outside code, with the line they are on. */
function linksOf(markdown: string): { target: string; line: number }[] {
  const links: { target: string; line: number }[] = [];
  const lines = withoutCode(markdown).replace(/`[^`\n]*`/g, (span) => ' '.repeat(span.length)).split('\n');
  lines.forEach((text, index) => {
    for (const match of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) links.push({ target: match[1]!, line: index + 1 });
  });
  return links;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, each space a hyphen. */
function githubSlug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // links and images: their text
    .replace(/<[^>]+>/g, '') // inline HTML
    .trim()
    .toLowerCase();
  return text.replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

/** Every anchor a Markdown file's headings make (a repeated heading gets -1, -2, ...). */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const match of withoutCode(markdown).matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const slug = githubSlug(match[1]!);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** What is wrong with `target` linked from `from` (a repo-relative path), or undefined. */
function problemWith(from: string, target: string, isInRepository: (path: string) => boolean): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) return undefined; // external
  const [rawPath, fragment] = target.split('#', 2) as [string, string | undefined];
  const path = decodeURIComponent(rawPath);
  const resolved = path === '' ? from : normalize(join(dirname(from), path)).replace(/\/$/, '');
  if (resolved.startsWith('..') || relative(repoRoot, join(repoRoot, resolved)).startsWith('..')) return 'points outside the repository';
  if (!isInRepository(resolved)) return `${resolved} is not a file or folder of the repository`;
  if (fragment === undefined || !resolved.endsWith('.md')) return undefined;
  return anchorsOf(read(resolved)).has(fragment) ? undefined : `${resolved} has no heading whose anchor is #${fragment}`;
}

describe('links in README.md and docs/*.md', () => {
  const isInRepository = repositoryPaths();

  it.each(documentationFiles())('%s: every relative link resolves', (file) => {
    const broken = linksOf(read(file))
      .map(({ target, line }) => ({ target, line, problem: problemWith(file, target, isInRepository) }))
      .filter((link) => link.problem !== undefined)
      .map((link) => `${file}:${link.line} (${link.target}): ${link.problem}`);
    expect(broken).toEqual([]);
  });

  it("README's links into docs/ work from the installed package too (images excepted: they stay out of it)", () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repoRoot, encoding: 'utf8' });
    const packed = new Set((JSON.parse(out) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path));
    const intoDocs = linksOf(read('README.md'))
      .map(({ target }) => decodeURIComponent(target.split('#')[0]!))
      .filter((path) => path.startsWith('docs/') && !/\.(png|jpe?g|gif|svg)$/i.test(path));
    expect(intoDocs.length).toBeGreaterThan(0);
    expect(intoDocs.filter((path) => !packed.has(path))).toEqual([]);
  });

  describe('the checker itself', () => {
    it('makes the anchors GitHub makes', () => {
      expect(githubSlug('Fleet-wide breakers (`nestjs-breaker/redis`)')).toBe('fleet-wide-breakers-nestjs-breakerredis');
      expect(githubSlug('Admin API (`CircuitBreakerAdminModule`)')).toBe('admin-api-circuitbreakeradminmodule');
      expect(githubSlug('Walkthrough: the sample app')).toBe('walkthrough-the-sample-app');
      expect(githubSlug('`npm run bench:dashboard`: what the live dashboard costs the app that serves it')).toBe(
        'npm-run-benchdashboard-what-the-live-dashboard-costs-the-app-that-serves-it',
      );
      expect(githubSlug('Shapes: sync, Promise, Observable')).toBe('shapes-sync-promise-observable');
      expect([...anchorsOf('# A\n## Notes\n```\n## not a heading\n```\n### Notes\n')]).toEqual(['a', 'notes', 'notes-1']);
    });

    it('finds links outside code only, and reports the broken ones', () => {
      const markdown = 'See [a](docs/nestjs.md#names) and `[b](nowhere.md)`.\n```\n[c](nowhere.md)\n```\n![d](../outside.png)\n[e](#missing) [f](https://example.com)';
      expect(linksOf(markdown).map((l) => l.target)).toEqual(['docs/nestjs.md#names', '../outside.png', '#missing', 'https://example.com']);
      expect(problemWith('README.md', 'docs/nestjs.md#names', isInRepository)).toBeUndefined();
      expect(problemWith('README.md', 'docs/nestjs.md#no-such-heading', isInRepository)).toMatch(/no heading whose anchor is #no-such-heading/);
      expect(problemWith('README.md', '../sample-app/metrics/', isInRepository)).toBe('points outside the repository');
      expect(problemWith('README.md', 'sample-app/nowhere.ts', isInRepository)).toMatch(/is not a file or folder/);
      expect(problemWith('docs/dashboard.md', '../README.md#usage', isInRepository)).toBeUndefined();
      expect(problemWith('README.md', 'https://example.com/x', isInRepository)).toBeUndefined();
    });
  });
});
