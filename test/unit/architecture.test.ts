import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Keeps DESIGN §5 true by reading the real source: the pure core does no I/O, imports point inward only
 * (edge → application → adapters → core), and no file grows past 500 lines.
 * `src/config/load-*.ts` files are the I/O side of config (they read files) and count as adapters.
 * `import type` obeys the same direction: a type belongs to the layer that owns the concept.
 */
const SRC = resolve(import.meta.dirname, '../../src');

type Layer = 'core' | 'adapter' | 'application' | 'edge';
const RANK: Record<Layer, number> = { core: 0, adapter: 1, application: 2, edge: 3 };
const FOLDERS: Record<string, Layer> = {
  errors: 'core',
  csv: 'core',
  profile: 'core',
  rollout: 'core',
  config: 'core',
  log: 'adapter',
  queue: 'adapter',
  store: 'adapter',
  transport: 'adapter',
  jobs: 'application',
  campaign: 'application',
  app: 'application',
  workers: 'edge',
  dashboard: 'edge',
  cli: 'edge',
};

const FORBIDDEN_IN_CORE = [
  /^(node:)?fs(\/.*)?$/,
  /^(node:)?net$/,
  /^(node:)?child_process$/,
  /^(node:)?https?$/,
  /^(node:)?http2$/,
  /^bullmq(\/.*)?$/,
  /^ioredis(\/.*)?$/,
  /^node-ssh(\/.*)?$/,
  /^ssh2(\/.*)?$/,
  /^pino(\/.*)?$/,
];
const FORBIDDEN_TEXT_IN_CORE = [/\bprocess\.env\b/, /\bDate\.now\s*\(/];

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return listFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Source without comments, so prose that mentions `Date.now()` is not a finding. */
function stripComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

interface ImportLine {
  readonly specifier: string;
  readonly typeOnly: boolean;
}

function readImports(source: string): ImportLine[] {
  const code = stripComments(source);
  const statements = [...code.matchAll(/\b(import|export)(\s+type)?\s[^;]*?\sfrom\s*['"]([^'"]+)['"]/g)].map(
    (match) => ({
      specifier: match[3] ?? '',
      typeOnly: match[2] !== undefined,
    }),
  );
  const others = [
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ].flatMap((pattern) => [...code.matchAll(pattern)].map((match) => ({ specifier: match[1] ?? '', typeOnly: false })));
  return [...statements, ...others];
}

/** Layer of a file under src/ (by its first folder; config/load-*.ts is an adapter). */
function layerOf(relativePath: string): Layer | undefined {
  const parts = relativePath.split(/[\\/]/);
  if (parts[0] === 'config' && /^load-/.test(parts[parts.length - 1] ?? '')) return 'adapter';
  return FOLDERS[parts[0] ?? ''];
}

/** Problems of one file: forbidden I/O in core, and imports pointing outward. */
function findViolations(relativePath: string, source: string): string[] {
  const layer = layerOf(relativePath);
  if (!layer) return [];
  const problems: string[] = [];
  for (const { specifier } of readImports(source)) {
    if (specifier.startsWith('.')) {
      const target = relative(SRC, resolve(SRC, relativePath, '..', specifier))
        .split(sep)
        .join('/');
      const targetLayer = layerOf(target);
      if (targetLayer && RANK[targetLayer] > RANK[layer]) {
        problems.push(`${relativePath} (${layer}) imports ${target} (${targetLayer})`);
      }
    } else if (layer === 'core' && FORBIDDEN_IN_CORE.some((pattern) => pattern.test(specifier))) {
      problems.push(`${relativePath} (pure core) imports ${specifier}`);
    }
  }
  if (layer === 'core') {
    const code = stripComments(source);
    for (const pattern of FORBIDDEN_TEXT_IN_CORE) {
      if (pattern.test(code)) problems.push(`${relativePath} (pure core) uses ${pattern.source.replaceAll('\\', '')}`);
    }
  }
  return problems;
}

const files = listFiles(SRC).map((path) => ({
  path: relative(SRC, path).split(sep).join('/'),
  source: readFileSync(path, 'utf8'),
}));

describe('architecture', () => {
  it('finds the source tree', () => {
    expect(files.some((file) => file.path === 'csv/read-roster.ts')).toBe(true);
    expect(files.some((file) => file.path === 'cli/main.ts')).toBe(true);
  });

  it('keeps the pure core free of I/O and every import pointing inward', () => {
    expect(files.flatMap((file) => findViolations(file.path, file.source))).toEqual([]);
  });

  it('puts every src folder in a layer', () => {
    const unknown = [...new Set(files.map((file) => file.path.split('/')[0]))].filter(
      (folder) => folder && folder.endsWith('.ts') === false && !FOLDERS[folder],
    );
    expect(unknown).toEqual([]);
  });

  it('keeps every src file under 500 lines', () => {
    const long = files.filter((file) => file.source.split('\n').length > 500).map((file) => file.path);
    expect(long).toEqual([]);
  });

  it('catches each kind of violation (the checker itself can fail)', () => {
    expect(findViolations('csv/x.ts', "import { readFile } from 'node:fs/promises';")).toHaveLength(1);
    expect(findViolations('profile/x.ts', "import { Queue } from 'bullmq';")).toHaveLength(1);
    expect(findViolations('rollout/x.ts', "const redis = await import('ioredis');")).toHaveLength(1);
    expect(findViolations('errors/x.ts', "export { x } from 'pino';")).toHaveLength(1);
    expect(findViolations('config/x.ts', 'const home = process.env.HOME;')).toHaveLength(1);
    expect(findViolations('csv/x.ts', 'const now = Date.now();')).toHaveLength(1);
    expect(findViolations('csv/x.ts', "import { x } from '../queue/names.js';")).toHaveLength(1);
    expect(findViolations('csv/x.ts', "import { x } from '../config/load-campaign-file.js';")).toHaveLength(1);
    expect(findViolations('store/x.ts', "import { x } from '../jobs/render.js';")).toHaveLength(1);
    expect(findViolations('campaign/x.ts', "import { x } from '../cli/main.js';")).toHaveLength(1);
    expect(findViolations('csv/x.ts', "import type { Redis } from 'ioredis';")).toHaveLength(1);
    expect(findViolations('rollout/x.ts', "import type { T } from '../transport/transport.js';")).toHaveLength(1);
    // Allowed: comments, inward imports, I/O outside the core.
    expect(findViolations('csv/x.ts', '// never Date.now() here\n/* process.env */')).toEqual([]);
    expect(findViolations('cli/x.ts', "import { x } from '../campaign/y.js';\nimport 'node:fs';")).toEqual([]);
    expect(findViolations('config/load-x.ts', "import { readFile } from 'node:fs/promises';")).toEqual([]);
  });
});
