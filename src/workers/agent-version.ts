import { readFileSync } from 'node:fs';

let cached: string | undefined;

/** The fleet-rollout version the agent runs (package.json sits two folders up from both src/ and dist/). */
export function readAgentVersion(): string {
  if (cached !== undefined) return cached;
  try {
    const url = new URL('../../package.json', import.meta.url);
    cached = String((JSON.parse(readFileSync(url, 'utf8')) as { version?: unknown }).version ?? 'unknown');
  } catch {
    cached = 'unknown';
  }
  return cached;
}
