import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { CandidateConfigError, candidateConfig, loadCandidateConfig } from '../../lib/tuning/index.js';

function refusal(value: unknown, label = 'strict.json'): CandidateConfigError {
  try {
    candidateConfig(label, value);
  } catch (error) {
    if (error instanceof CandidateConfigError) return error;
    throw error;
  }
  throw new Error('expected a CandidateConfigError');
}

describe('a candidate configuration', () => {
  it('takes the breaker options a replay reproduces', () => {
    const settings = {
      slidingWindow: { type: 'time', durationMs: 30_000, buckets: 30 },
      failureRateThreshold: 25,
      slowCallDurationMs: 1_000,
      slowCallRateThreshold: 80,
      minimumCalls: 20,
      minimumFailures: 5,
      consecutiveFailureThreshold: 10,
      timeoutMs: 2_000,
      openDurationMs: 15_000,
      openDurationBackoff: { multiplier: 2, maxMs: 120_000 },
      halfOpenMaxCalls: 3,
      halfOpenProbeTimeoutMs: 5_000,
    };
    expect(candidateConfig('strict.json', settings)).toEqual({ label: 'strict.json', settings });
    expect(candidateConfig('empty.json', {}).settings).toEqual({});
  });

  it('keeps a copy: changing the object afterwards changes nothing', () => {
    const given = { slidingWindow: { type: 'count' as const, size: 20 } };
    const config = candidateConfig('a.json', given);
    given.slidingWindow.size = 5;
    expect(config.settings.slidingWindow).toEqual({ type: 'count', size: 20 });
  });

  it('refuses an unknown option, naming the file and the key, with the nearest known option', () => {
    const error = refusal({ failureRateTreshold: 25 });
    expect(error.message).toMatch(/^strict\.json: unknown option "failureRateTreshold" \(did you mean "failureRateThreshold"\?\); the options a replay takes: slidingWindow, failureRateThreshold, .*halfOpenProbeTimeoutMs$/);
    expect(error).toMatchObject({ config: 'strict.json', option: 'failureRateTreshold' });
    expect(refusal({ colour: 'red' }).message).toMatch(/^strict\.json: unknown option "colour"; the options/);
  });

  it('refuses name: a replay runs the configuration for each breaker of the trace', () => {
    expect(refusal({ name: 'payments' }).message).toMatch(/^strict\.json: option "name" does not belong in a candidate configuration/);
  });

  it.each([
    ['healthCheck', { check: 'ping', intervalMs: 1000 }, /a trace holds no health-check results/],
    ['isFailure', 'HttpException', /keeps the recorded classification/],
    ['isResultFailure', true, /keeps the recorded classification/],
    ['clock', {}, /drives its own ManualClock/],
    ['store', {}, /state shared through a store is not replayed/],
  ])('refuses %s, saying why a replay cannot reproduce it', (key, value, why) => {
    const error = refusal({ [key]: value });
    expect(error.message).toMatch(new RegExp(`^strict\\.json: option "${key}" cannot be replayed: `));
    expect(error.message).toMatch(why);
    expect(error.option).toBe(key);
  });

  it("shows the engine's validation error with the file name instead of a breaker name", () => {
    const error = refusal({ failureRateThreshold: 150 });
    expect(error.message).toBe('strict.json: option "failureRateThreshold" must be a percentage in (0, 100], got 150');
    expect(error.option).toBe('failureRateThreshold');
    expect(refusal({ slidingWindow: { type: 'count', size: 20 }, minimumCalls: 50 }).message).toMatch(/^strict\.json: option "minimumCalls" must be an integer in \[1, slidingWindow\.size = 20\]/);
    expect(refusal({ slidingWindow: { type: 'count', sise: 20 } }).option).toMatch(/^slidingWindow/);
  });

  it('refuses backoff jitter: the engine draws it at random, and a replay must give the same answer every time', () => {
    const error = refusal({ openDurationBackoff: { multiplier: 2, jitter: 0.2 } });
    expect(error.message).toMatch(/^strict\.json: option "openDurationBackoff\.jitter" must be 0 in a replay, got 0\.2: the engine draws jitter at random/);
    expect(error.option).toBe('openDurationBackoff.jitter');
    expect(candidateConfig('ok.json', { openDurationBackoff: true }).settings).toEqual({ openDurationBackoff: true });
    expect(candidateConfig('ok.json', { openDurationBackoff: { jitter: 0 } }).settings).toEqual({ openDurationBackoff: { jitter: 0 } });
  });

  it('must be a JSON object', () => {
    expect(refusal([]).message).toBe('strict.json: must hold a JSON object of breaker options (such as {"failureRateThreshold": 50}), got an array');
    expect(refusal(null).message).toMatch(/got null$/);
    expect(refusal(50).message).toMatch(/got a number$/);
  });
});

describe('a candidate configuration file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-breaker-config-'));

  it('is read, and named in reports as given', async () => {
    writeFileSync(join(dir, 'a.json'), '{ "failureRateThreshold": 30 }');
    expect(await loadCandidateConfig(join(dir, 'a.json'), 'configs/a.json')).toEqual({ label: 'configs/a.json', settings: { failureRateThreshold: 30 } });
  });

  it('that is missing, not JSON, or a folder is refused with its name', async () => {
    writeFileSync(join(dir, 'broken.json'), '{ "failureRateThreshold": 30, }');
    await expect(loadCandidateConfig(join(dir, 'missing.json'), 'missing.json')).rejects.toThrow('missing.json: cannot read the configuration: no such file');
    await expect(loadCandidateConfig(join(dir, 'broken.json'), 'broken.json')).rejects.toThrow(/^broken\.json: not valid JSON: /);
    await expect(loadCandidateConfig(dir, 'configs')).rejects.toThrow('configs: cannot read the configuration: it is a directory');
  });
});
