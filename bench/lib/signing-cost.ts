import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import ssh2 from 'ssh2';
import { withReusedSigningKey } from '../../src/transport/ssh/signing-key.js';

/** Milliseconds per SSH login signature: ssh2's own key (decodes its PEM every time) and the agent's (decoded once). */
export async function measureSigningCost(keyPath: string, count = 500): Promise<{ ssh2: number; agent: number }> {
  const parsed = ssh2.utils.parseKey(await readFile(keyPath));
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) throw new Error(`cannot parse ${keyPath}`);
  const reused = withReusedSigningKey(key);
  const data = Buffer.alloc(150, 1);
  const time = (k: ssh2.ParsedKey): number => {
    const started = performance.now();
    for (let i = 0; i < count; i++) k.sign(data);
    return Number(((performance.now() - started) / count).toFixed(3));
  };
  time(key); // warm-up
  return { ssh2: time(key), agent: time(reused) };
}
