/**
 * The root entry exports what a user of the module or of the engine needs, nothing else: exactly
 * the names docs/api.md lists under `nestjs-breaker`, each as the kind the page says (a value: class,
 * decorator, function; or a type). An internal exported by mistake fails here, and so does a
 * documented name that is gone. (scripts/check-package.mjs checks the built package's runtime
 * values against the same list.)
 */
import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import ts from 'typescript';
import { read, repoRoot } from './markdown.js';

type Kind = 'value' | 'type';

/** Every name lib/index.ts exports, as a value or type-only. */
function rootExports(): Map<string, Kind> {
  const config = ts.getParsedCommandLineOfConfigFile(join(repoRoot, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
  if (config === undefined) throw new Error('tsconfig.json could not be read');
  const entry = join(repoRoot, 'lib/index.ts');
  const program = ts.createProgram([entry], { ...config.options, noEmit: true });
  const checker = program.getTypeChecker();
  const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
  const names = new Map<string, Kind>();
  for (const symbol of checker.getExportsOfModule(moduleSymbol)) {
    const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
    const typeOnly = symbol.declarations?.some((d) => ts.isExportSpecifier(d) && (d.isTypeOnly || d.parent.parent.isTypeOnly)) ?? false;
    names.set(symbol.name, !typeOnly && target.flags & ts.SymbolFlags.Value ? 'value' : 'type');
  }
  return names;
}

/** The names docs/api.md lists under `## \`nestjs-breaker\``, with their kind column. */
export function documentedRootExports(markdown: string): Map<string, Kind> {
  const start = markdown.indexOf('\n## `nestjs-breaker`\n');
  if (start === -1) throw new Error('docs/api.md has no "## `nestjs-breaker`" section');
  const end = markdown.indexOf('\n## ', start + 1);
  const names = new Map<string, Kind>();
  for (const row of markdown.slice(start, end === -1 ? undefined : end).matchAll(/^\| `([A-Za-z_$][\w$]*)` \| ([a-z]+) \|/gm)) {
    names.set(row[1]!, row[2] === 'type' ? 'type' : 'value');
  }
  return names;
}

const sorted = (names: Map<string, Kind>) => [...names].map(([name, kind]) => `${name} (${kind})`).sort();

describe('the root entry, nestjs-breaker', () => {
  it('exports exactly the names docs/api.md lists, each of the kind it says', () => {
    const documented = documentedRootExports(read('docs/api.md'));
    expect(documented.size).toBeGreaterThan(30);
    expect(sorted(rootExports())).toEqual(sorted(documented));
  }, 120_000);

  it('the check sees a difference: a name missing from the page, or listed as the wrong kind', () => {
    const page = read('docs/api.md');
    const withoutOne = documentedRootExports(page.replace(/^\| `ManualClock` \|.*\n/m, ''));
    expect(withoutOne.has('ManualClock')).toBe(false);
    expect(documentedRootExports(page).get('ManualClock')).toBe('value');
    expect(documentedRootExports(page).get('CircuitState')).toBe('type');
  });
});
