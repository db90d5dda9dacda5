import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';

/**
 * vitest globalSetup: tests that spawn the CLI run dist/, so dist/ is rebuilt (tsc -p tsconfig.build.json) before
 * any test runs whenever it may be stale: a source or tsconfig file newer than the last build, or the list of
 * source files changed since. A stale dist/ is never what is tested; an unchanged tree costs no build. The
 * dashboard's page files (src/dashboard/public, not TypeScript) are sources too, copied as `npm run build` does.
 */
const ROOT = resolve(import.meta.dirname, '..');
const STAMP = join(ROOT, 'dist', '.build-stamp');
const CONFIGS = ['tsconfig.json', 'tsconfig.build.json', 'package.json'].map((name) => join(ROOT, name));
const PUBLIC = join(ROOT, 'src', 'dashboard', 'public');

function listSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return listSources(path);
    return entry.name.endsWith('.ts') || path.startsWith(PUBLIC) ? [path] : [];
  });
}

export function isDistStale(): boolean {
  if (!existsSync(STAMP) || !existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) return true;
  const sources = listSources(join(ROOT, 'src')).sort();
  const listed = sources.map((path) => relative(ROOT, path)).join('\n');
  if (readFileSync(STAMP, 'utf8') !== listed) return true;
  const built = statSync(STAMP).mtimeMs;
  return [...sources, ...CONFIGS].some((path) => statSync(path).mtimeMs > built);
}

export default function setup(): void {
  if (!isDistStale()) return;
  const sources = listSources(join(ROOT, 'src')).sort();
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'inherit' });
  cpSync(PUBLIC, join(ROOT, 'dist', 'dashboard', 'public'), { recursive: true });
  writeFileSync(STAMP, sources.map((path) => relative(ROOT, path)).join('\n'));
}
