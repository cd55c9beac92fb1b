/**
 * README Usage is the first code a user copies: it must compile as given, with its imports and
 * everything it uses defined, against the package's public entry points (mapped to the sources,
 * as tsconfig.json's `paths` do), under the project's strict compiler options.
 */
import { describe, expect, it } from '@jest/globals';
import { join } from 'node:path';
import ts from 'typescript';
import { firstCodeBlockUnder, read, repoRoot } from './markdown.js';

function diagnosticsOf(source: string): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(join(repoRoot, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
  if (config === undefined) throw new Error('tsconfig.json could not be read');
  // A file beside the tests, so that node_modules and the paths mapping resolve as for any test.
  const fileName = join(repoRoot, 'test/docs/readme-usage.virtual.ts');
  const host = ts.createCompilerHost(config.options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, languageVersion, ...rest) =>
    name === fileName ? ts.createSourceFile(name, source, languageVersion) : getSourceFile(name, languageVersion, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === fileName || fileExists(name);
  const program = ts.createProgram([fileName], { ...config.options, noEmit: true }, host);
  const sourceFile = program.getSourceFile(fileName)!;
  return [...program.getSyntacticDiagnostics(sourceFile), ...program.getSemanticDiagnostics(sourceFile)].map((d) => {
    const where = d.start === undefined ? '' : `line ${sourceFile.getLineAndCharacterOfPosition(d.start).line + 1}: `;
    return where + ts.flattenDiagnosticMessageText(d.messageText, '\n');
  });
}

describe('README Usage', () => {
  const usage = firstCodeBlockUnder(read('README.md'), 'Usage');

  it('imports what it uses from the package and Nest, and declares an application module', () => {
    expect(usage).toMatch(/from 'nestjs-breaker'/);
    expect(usage).toMatch(/from 'nestjs-breaker\/health'/);
    expect(usage).toMatch(/export class AppModule/);
  });

  it('compiles as given', () => {
    expect(diagnosticsOf(usage)).toEqual([]);
  }, 120_000);

  it('the check sees errors: the same code with one import left out does not compile', () => {
    const broken = usage.replace(/^import \{ CircuitBreakerModule, UseCircuitBreaker \} from 'nestjs-breaker';$/m, '');
    expect(broken).not.toBe(usage);
    expect(diagnosticsOf(broken).join('\n')).toMatch(/Cannot find name 'UseCircuitBreaker'/);
  }, 120_000);
});
