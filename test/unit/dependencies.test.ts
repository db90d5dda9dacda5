import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Every package the code imports is declared in package.json, and no dependency is declared that it does not import. */
const ROOT = resolve(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

/** A bare specifier: `name`, `name/sub/path` or `@scope/name/...` (relative paths and text in strings are not). */
const PACKAGE = /^(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*(\/[\w./-]+)?$/;

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return listFiles(path);
    return /\.(ts|mts)$/.test(entry.name) ? [path] : [];
  });
}

/** Package names of the bare specifiers a source file imports (static, type-only, dynamic, re-exports). */
function importedPackages(files: readonly string[]): Set<string> {
  const names = new Set<string>();
  const builtins = new Set(builtinModules);
  for (const file of files) {
    const code = readFileSync(file, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/^\s*\/\/.*$/gm, '');
    const specifiers = [
      ...code.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*['"]([^'"]+)['"]/gm),
      ...code.matchAll(/\bimport\s*['"]([^'"]+)['"]/g),
      ...code.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g),
    ].map((match) => match[1] ?? '');
    for (const specifier of specifiers) {
      if (!PACKAGE.test(specifier) || specifier.startsWith('node:') || builtins.has(specifier)) continue;
      const parts = specifier.split('/');
      names.add(specifier.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] ?? specifier));
    }
  }
  return names;
}

describe('package.json dependencies', () => {
  it('declares exactly the packages src/ imports (types included: ssh2 is imported for its types and parseKey)', () => {
    const imported = [...importedPackages(listFiles(join(ROOT, 'src')))].sort();
    expect(Object.keys(pkg.dependencies).sort()).toEqual(imported);
  });

  it('declares, as dependency or devDependency, every package the tests and benchmarks import', () => {
    const declared = new Set([...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)]);
    const files = [...listFiles(join(ROOT, 'test')), ...listFiles(join(ROOT, 'bench'))];
    const missing = [...importedPackages(files)].filter((name) => !declared.has(name));
    expect(missing).toEqual([]);
  });
});
