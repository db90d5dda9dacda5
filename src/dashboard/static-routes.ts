import { readdirSync, readFileSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const PUBLIC_DIR = fileURLToPath(new URL('./public/', import.meta.url));
const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? listFiles(path) : [path];
  });
}

/**
 * The pages' files, every one served from this package (no CDN): read once at start-up and routed by name, so
 * no request path ever reaches the file system. `/` is the single page (hash routes: #/campaigns/…).
 */
export function registerStaticRoutes(app: FastifyInstance): void {
  for (const path of listFiles(PUBLIC_DIR)) {
    const type = TYPES[extname(path)];
    if (type === undefined) continue;
    const content = readFileSync(path);
    const route = `/${relative(PUBLIC_DIR, path).split(sep).join('/')}`;
    const routes = route === '/index.html' ? ['/'] : [route];
    for (const url of routes) {
      app.get(url, { config: { public: true } }, async (_request, reply) =>
        reply.type(type).header('cache-control', 'no-cache').send(content),
      );
    }
  }
}
