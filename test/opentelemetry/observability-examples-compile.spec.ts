/**
 * The OpenTelemetry examples of docs/observability.md compile as given (imports included) against
 * the package's entry points mapped to the sources, under the project's compiler options.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The TypeScript code blocks of the `## OpenTelemetry` section, in order. */
function examples(): string[] {
  const markdown = readFileSync(join(root, 'docs/observability.md'), 'utf8');
  const start = markdown.indexOf('\n## OpenTelemetry\n');
  if (start === -1) throw new Error('no "## OpenTelemetry" section');
  const end = markdown.indexOf('\n## ', start + 1);
  return [...markdown.slice(start, end === -1 ? undefined : end).matchAll(/^```ts\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
}

function diagnosticsOf(source: string): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
  if (config === undefined) throw new Error('tsconfig.json could not be read');
  const fileName = join(root, 'test/opentelemetry/observability-example.virtual.ts');
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

describe('docs/observability.md, OpenTelemetry examples', () => {
  it('has the Nest setup and the engine example', () => {
    const [nest, engine] = examples();
    expect(nest).toMatch(/CircuitBreakerOpenTelemetryModule\.forRoot\(\)/);
    expect(engine).toMatch(/instrumentOpenTelemetry\(\[payments\]\)/);
  });

  it('compile as given', () => {
    expect(examples().map(diagnosticsOf)).toEqual([[], []]);
  }, 120_000);

  it('the check sees errors: an example with one import left out does not compile', () => {
    const broken = examples()[1]!.replace(/^import \{ instrumentOpenTelemetry \} from 'nestjs-breaker\/opentelemetry';$/m, '');
    expect(diagnosticsOf(broken).join('\n')).toMatch(/Cannot find name 'instrumentOpenTelemetry'/);
  }, 120_000);
});
