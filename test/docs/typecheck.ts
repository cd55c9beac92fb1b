/**
 * Type-checks code from the documentation as a user's file would be: against the package's public
 * entry points (mapped to the sources, as tsconfig.json's `paths` do), under the project's strict
 * compiler options. Each source becomes a virtual file beside the tests, so node_modules and the
 * paths mapping resolve as for any test file.
 */
import { join } from 'node:path';
import ts from 'typescript';
import { repoRoot } from './markdown.js';

/** Diagnostics of each source (by its index in `sources`), each one `line N: message`. */
export function diagnosticsOf(sources: readonly string[]): string[][] {
  const config = ts.getParsedCommandLineOfConfigFile(join(repoRoot, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
  if (config === undefined) throw new Error('tsconfig.json could not be read');
  const fileNames = sources.map((_, i) => join(repoRoot, `test/docs/documentation-example-${i}.virtual.ts`));
  const virtual = new Map(fileNames.map((name, i) => [name, sources[i]!]));
  const host = ts.createCompilerHost(config.options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (name, languageVersion, ...rest) =>
    virtual.has(name) ? ts.createSourceFile(name, virtual.get(name)!, languageVersion) : getSourceFile(name, languageVersion, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => virtual.has(name) || fileExists(name);
  const program = ts.createProgram(fileNames, { ...config.options, noEmit: true }, host);
  return fileNames.map((name) => {
    const sourceFile = program.getSourceFile(name)!;
    return [...program.getSyntacticDiagnostics(sourceFile), ...program.getSemanticDiagnostics(sourceFile)].map((d) => {
      const where = d.start === undefined ? '' : `line ${sourceFile.getLineAndCharacterOfPosition(d.start).line + 1}: `;
      return where + ts.flattenDiagnosticMessageText(d.messageText, '\n');
    });
  });
}
