// The hand-written types, checked as an integrator would: example.ts compiled with `tsc --noEmit`
// (strict) in a project that installed the tarball. Its `@ts-expect-error` lines must be errors,
// so imprecise types (an `any`, a missing union member) fail this test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { project, root } from './install.mjs';

test('example.ts type-checks against the installed package, and its wrong lines do not', () => {
  const dir = project();
  copyFileSync(join(root, 'tests', 'npm', 'example.ts'), join(dir, 'example.ts'));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      strict: true, noEmit: true, target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext',
      lib: ['es2022', 'esnext.disposable', 'dom'], types: [], skipLibCheck: false,
    },
    files: ['example.ts'],
  }));
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', dir], { cwd: dir, encoding: 'utf8' });
  } catch (err) {
    assert.fail(`tsc failed:\n${err.stdout}${err.stderr}`);
  }
});
