/**
 * README Usage is the first code a user copies: it must compile as given, with its imports and
 * everything it uses defined, against the package's public entry points, under the project's strict
 * compiler options; and it shows what Usage promises: forRoot, a decorated provider with a fallback,
 * a decorated route, an undecorated route over the decorated provider, the Terminus health
 * controller. (The consumer-app matrix, test/consumers, runs this block as it is over HTTP.)
 */
import { describe, expect, it } from '@jest/globals';
import { firstCodeBlockUnder, read } from './markdown.js';
import { diagnosticsOf } from './typecheck.js';

describe('README Usage', () => {
  const usage = firstCodeBlockUnder(read('README.md'), 'Usage');

  it('imports what it uses from the package and Nest, and declares an application module', () => {
    expect(usage).toMatch(/from 'nestjs-breaker'/);
    expect(usage).toMatch(/from 'nestjs-breaker\/health'/);
    expect(usage).toMatch(/CircuitBreakerModule\.forRoot\(/);
    expect(usage).toMatch(/export class AppModule/);
  });

  it('shows a decorated provider with a fallback, a decorated route, an undecorated route and the health controller', () => {
    const fallback = /@UseCircuitBreaker\('payments', \{ fallback: '(\w+)' \}\)[^\n]*\n\s+async \w+\(/.exec(usage)?.[1];
    expect(fallback).toBeDefined();
    expect(usage).toContain(`  ${fallback}(`);
    expect(usage).toMatch(/@(Get|Post)\([^)]*\) @UseCircuitBreaker\(/);
    expect(usage).toMatch(/@Get\('[^']*'\)[^@\n]*\n\s+async price\(/);
    expect(usage).toMatch(/@Controller\('health'\)[\s\S]*@HealthCheck\(\)/);
  });

  it('compiles as given', () => {
    expect(diagnosticsOf([usage])).toEqual([[]]);
  }, 120_000);

  it('the check sees errors: the same code with one import left out does not compile', () => {
    const broken = usage.replace(/^import \{ CircuitBreakerModule, UseCircuitBreaker \} from 'nestjs-breaker';$/m, '');
    expect(broken).not.toBe(usage);
    expect(diagnosticsOf([broken])[0]!.join('\n')).toMatch(/Cannot find name 'UseCircuitBreaker'/);
  }, 120_000);
});
