/**
 * docs/tuning.md's walkthroughs are true: their files are written, their commands run (the command
 * line in process, in a scratch folder), and each output shown is exactly what the command printed.
 * The recording walkthrough records the sample app (RECORD_CALLS) while README's walkthrough runs
 * against it (the requests of docs/sample-app.md, time from a ManualClock), then replays that trace.
 */
import 'reflect-metadata';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import request from 'supertest';
import type { App } from 'supertest/types.js';
import { ManualClock } from '../../lib/index.js';
import { main } from '../../lib/cli/main.js';
import { AppModule } from '../../sample-app/app.module.js';
import { PaymentsDownstream } from '../../sample-app/payments/payments-downstream.js';
import { read } from './markdown.js';

const TITLE = '## Walkthrough: an outage, two configurations, then suggest';
const RECORDING_TITLE = '## Recording calls: the README walkthrough, replayed';

type Step = { kind: 'file'; name: string; text: string } | { kind: 'commands'; lines: string[] } | { kind: 'output'; text: string };

/** The walkthrough's files, commands and outputs, in order. */
function steps(markdown: string, title = TITLE): Step[] {
  const start = markdown.indexOf(`\n${title}\n`);
  if (start === -1) throw new Error(`docs/tuning.md has no "${title}" section`);
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

/** Writes a walkthrough's files, runs its commands and compares each output shown with what was printed. */
async function run(walkthrough: Step[], dir: string): Promise<void> {
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
}

/**
 * README's walkthrough (docs/sample-app.md) against the sample app started as
 * `RECORD_CALLS=<file> npm start` starts it; app.close() is the Ctrl-C that ends the recording.
 */
async function recordSampleAppWalkthrough(file: string): Promise<void> {
  const clock = new ManualClock(Date.UTC(2026, 11, 6, 9, 0, 0));
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot({ paymentsPort: 0, clock, recordCallsFile: file })] }).compile();
  const app = moduleRef.createNestApplication({ logger: false });
  await app.init();
  try {
    const server = app.getHttpServer() as App;
    const downstream = app.get(PaymentsDownstream);
    const chaos = (mode: string) => request(server).post('/chaos/payments').send({ mode }).expect(201);
    const step = (ms: number) => clock.advance(ms);
    await request(server).get('/orders/42/quote').expect(200);
    await chaos('fail');
    for (let i = 0; i < 4; i++) {
      step(1_000);
      await request(server).get('/orders/42/quote').expect(200);
    }
    step(1_000);
    await request(server).get('/orders/42/quote').expect(200);
    await request(server).get('/orders/7/quote').expect(503);
    await request(server).post('/orders/42/pay').expect(503);
    await chaos('ok');
    clock.advance(10_000 - 1_000);
    await request(server).get('/orders/7/quote').expect(200);
    await chaos('slow');
    step(1_000);
    const arrived = once(downstream.events, 'request');
    const pay = request(server).post('/orders/42/pay').then((res) => res);
    await arrived;
    clock.advance(1_000);
    expect((await pay).status).toBe(504);
  } finally {
    await app.close();
  }
}

describe('docs/tuning.md walkthroughs', () => {
  it('example-trace, replay, suggest: writes its files, runs its commands, and shows exactly what they print', async () => {
    const walkthrough = steps(read('docs/tuning.md'));
    expect(walkthrough.filter((s) => s.kind === 'commands').length).toBeGreaterThanOrEqual(3);
    expect(walkthrough.filter((s) => s.kind === 'output').length).toBeGreaterThanOrEqual(2);
    await run(walkthrough, dir);
  });

  it('a recording of README\'s walkthrough through the sample app, replayed through two configurations, prints what the page shows', async () => {
    const markdown = read('docs/tuning.md');
    const section = markdown.slice(markdown.indexOf(`\n${RECORDING_TITLE}\n`));
    expect(section).toContain('RECORD_CALLS=calls.ndjson npm start');
    const recordingDir = mkdtempSync(join(tmpdir(), 'nestjs-breaker-recording-'));
    try {
      const file = join(recordingDir, 'calls.ndjson');
      await recordSampleAppWalkthrough(file);
      const calls = readFileSync(file, 'utf8')
        .trimEnd()
        .split('\n')
        .map((line) => JSON.parse(line) as { o: string; b: string });
      // the live quote, 4 failures (the 5th call trips), 3 rejections, the trial, the 504
      expect(calls.map((c) => `${c.b} ${c.o}`)).toEqual([
        'payments success',
        ...Array<string>(4).fill('payments failure'),
        ...Array<string>(3).fill('payments rejected'),
        'payments success',
        'payments timeout',
      ]);
      const walkthrough = steps(markdown, RECORDING_TITLE);
      expect(walkthrough.filter((s) => s.kind === 'commands').length).toBeGreaterThanOrEqual(1);
      expect(walkthrough.filter((s) => s.kind === 'output').length).toBeGreaterThanOrEqual(1);
      await run(walkthrough, recordingDir);
    } finally {
      rmSync(recordingDir, { recursive: true, force: true });
    }
  });
});
