/**
 * The tools of the operations-kit check: the PromQL selector reader finds every metric name
 * (reading too many is safe, too few would let a wrong name through), and a missing promtool is
 * reported in one sentence.
 */
import { describe, expect, it } from '@jest/globals';
import { selectorsOf } from './promql.js';
import { runPromtool } from './promtool.js';

const names = (expr: string) => selectorsOf(expr).map((s) => s.metric);

describe('selectorsOf', () => {
  it('finds metric names inside functions, aggregations (modifier before or after), binary operators and histograms', () => {
    expect(
      names(
        'histogram_quantile(0.95, sum by (name, le) (rate(a_bucket{job=~".*"}[5m]))) / on (name) group_left (state) ' +
          'max without (state) (b) and sum(c offset 5m) by (name) or d @ start() unless atan2(e, f) > bool 1e3',
      ),
    ).toEqual(['a_bucket', 'b', 'c', 'd', 'e', 'f']);
  });

  it('reads label matchers with every operator and quoting, and skips strings, durations, numbers and comments', () => {
    expect(selectorsOf(`x{a="1", b!='two', c=~"th|ree", d!~"f\\"our",} # y{z="w"}\n+ label_replace(v, "dst", "$1", "src", "(.*)") * 0.5`)).toEqual([
      {
        metric: 'x',
        matchers: [
          { label: 'a', op: '=', value: '1' },
          { label: 'b', op: '!=', value: 'two' },
          { label: 'c', op: '=~', value: 'th|ree' },
          { label: 'd', op: '!~', value: 'f"our' },
        ],
      },
      { metric: 'v', matchers: [] },
    ]);
  });

  it('takes an unknown word for a metric name (so a misreading fails the check), and refuses selectors it cannot name', () => {
    expect(names('sum(rate(circuit_breaker_calls_total[5m])) + nonsense')).toEqual(['circuit_breaker_calls_total', 'nonsense']);
    expect(() => selectorsOf('{__name__="circuit_breaker_state"}')).toThrow(/without a metric name/);
    expect(() => selectorsOf('x{__name__="y"}')).toThrow(/__name__ matcher/);
    expect(() => selectorsOf('x{a=b}')).toThrow(/unreadable label matcher/);
  });
});

describe('promtool', () => {
  it('when missing, fails with one sentence saying how to install it', async () => {
    await expect(runPromtool('/nonexistent/promtool', ['--version'])).rejects.toThrow(
      'promtool not found (tried "/nonexistent/promtool"): install the Debian package prometheus, or set PROMTOOL to a promtool binary (PROMTOOL=$(.ci/ensure-promtool) takes one out of that package).',
    );
  });
});
