// Installs the packed @tessera/engine tarball (built by `scripts/build.sh npm` into pkg/npm/)
// into a fresh temporary project, as an integrator would, and imports it from there.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const fixtures = join(root, 'tests', 'fixtures');

export function tarball() {
  const dir = join(root, 'pkg', 'npm');
  const found = readdirSync(dir).filter((f) => f.endsWith('.tgz'));
  if (found.length !== 1) throw new Error(`expected one tarball in ${dir}, found ${found.length}`);
  return join(dir, found[0]);
}

/** A temporary project with the package installed; returns its folder. */
export function project() {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-npm-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--silent', tarball()], { cwd: dir, stdio: 'inherit' });
  return dir;
}

/** The package as imported by a project that installed it (the `node` condition). */
export async function load() {
  const dir = project();
  // Resolved from inside the project, so Node goes through the package's exports map.
  const probe = join(dir, 'probe.mjs');
  writeFileSync(probe, "export * from '@tessera/engine';\n");
  const mod = await import(pathToFileURL(probe).href);
  return { dir, ...mod };
}

export function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

export function jsonFiles(folder) {
  const dir = join(fixtures, folder);
  return readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => ({ name: f, data: readJson(join(dir, f)) }));
}
