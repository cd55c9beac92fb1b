/**
 * docs/tuning.md's walkthrough is true: its files are written, its commands run (the command line
 * in process, in a scratch folder), and each output it shows is exactly what the command printed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { main } from '../../lib/cli/main.js';
import { read } from './markdown.js';

const TITLE = '## Walkthrough: an outage, two configurations, then suggest';

type Step = { kind: 'file'; name: string; text: string } | { kind: 'commands'; lines: string[] } | { kind: 'output'; text: string };

/** The walkthrough's files, commands and outputs, in order. */
function steps(markdown: string): Step[] {
  const start = markdown.indexOf(`\n${TITLE}\n`);
  if (start === -1) throw new Error(`docs/tuning.md has no "${TITLE}" section`);
  const end = markdown.indexOf('\n## ', start + 1);
  const section = markdown.slice(start, end === -1 ? undefined : end);
  const found: Step[] = [];
  const block = /(?:<!-- (file: ([^ ]+)|output) -->\s*\n)?```(\w+)\n([\s\S]*?)^```/gm;
  for (const match of section.matchAll(block)) {
    const [, marker, fileName, language, body] = match as unknown as [string, string | undefined, string | undefined, string, string];
    if (marker?.startsWith('file:')) found.push({ kind: 'file', name: fileName!, text: body });
    else if (marker === 'output') found.push({ kind: 'output', text: body });
    else if (language === 'sh') found.push({ kind: 'commands', lines: body.split('\n').filter((line) => line.startsWith('npx nestjs-breaker ')) });
  }
  return found;
}

const dir = mkdtempSync(join(tmpdir(), 'nestjs-breaker-walkthrough-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('docs/tuning.md walkthrough', () => {
  it('writes its files, runs its commands, and shows exactly what they print', async () => {
    const walkthrough = steps(read('docs/tuning.md'));
    expect(walkthrough.filter((s) => s.kind === 'commands').length).toBeGreaterThanOrEqual(3);
    expect(walkthrough.filter((s) => s.kind === 'output').length).toBeGreaterThanOrEqual(2);
    let printed: string | undefined;
    for (const step of walkthrough) {
      if (step.kind === 'file') writeFileSync(join(dir, step.name), step.text);
      else if (step.kind === 'commands') {
        for (const line of step.lines) {
          let out = '';
          let err = '';
          const code = await main(line.replace('npx nestjs-breaker ', '').split(/\s+/), { out: (t) => (out += t), err: (t) => (err += t), cwd: dir, stdin: [] });
          expect({ line, code, err: err.replace(/^(HTML report|\d+ calls) written to .*\n$/, '') }).toEqual({ line, code: 0, err: '' });
          printed = out;
        }
      } else {
        expect(printed).toBeDefined();
        expect(printed!.trimEnd()).toBe(step.text.trimEnd());
        printed = undefined;
      }
    }
  });
});
