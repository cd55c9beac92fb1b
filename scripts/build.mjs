// Dual build. ESM + declarations come from tsc (dist/esm). The CommonJS copy (dist/cjs) is the same
// source transpiled by @swc/core, because tsc under `module: nodenext` emits a file's format from the
// nearest package.json ("type": "module") and cannot emit CommonJS for this package.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transformFileSync } from '@swc/core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lib = join(root, 'lib');
const esm = join(root, 'dist/esm');
const cjs = join(root, 'dist/cjs');

rmSync(join(root, 'dist'), { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
});

function* walk(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else yield path;
  }
}

for (const file of walk(lib)) {
  if (!file.endsWith('.ts')) continue;
  const rel = relative(lib, file).replace(/\.ts$/, '.js');
  const { code } = transformFileSync(file, {
    module: { type: 'commonjs' },
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
      keepClassNames: true,
    },
  });
  mkdirSync(dirname(join(cjs, rel)), { recursive: true });
  writeFileSync(join(cjs, rel), code);
}
// Declarations are format-neutral here; inside a "type": "commonjs" folder TypeScript reads them as CJS.
cpSync(esm, cjs, { recursive: true, filter: (src) => !src.endsWith('.js') && !src.endsWith('.js.map') });
writeFileSync(join(cjs, 'package.json'), '{\n  "type": "commonjs"\n}\n');
console.log('built dist/esm and dist/cjs');
