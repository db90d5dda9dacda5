import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoopbackHost } from './loopback-hosts.js';

/** One user of a benchmark run: the PRF it deploys and the host it goes to. */
export interface BenchUser {
  readonly name: string;
  readonly host: LoopbackHost;
  readonly bytes: Buffer;
  readonly sha256: string;
  /** The PRF written locally, for arms that upload a file (raw loop, Ansible). */
  readonly localPrf: string;
}

/** `count` users spread round-robin over `hosts`, each with a small PRF written under `<dir>/local-prf/`. */
export async function makeBenchUsers(hosts: readonly LoopbackHost[], count: number, dir: string): Promise<BenchUser[]> {
  const localDir = join(dir, 'local-prf');
  await mkdir(localDir, { recursive: true });
  const users: BenchUser[] = [];
  for (let i = 0; i < count; i++) {
    const name = `bench.user${String(i).padStart(5, '0')}`;
    const bytes = Buffer.from(`[General]\r\nProfileName=Outlook\r\nCustom=1\r\n[Service1]\r\nMailboxName=${name}\r\n`);
    const localPrf = join(localDir, `${name}.prf`);
    await writeFile(localPrf, bytes);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    users.push({ name, host: hosts[i % hosts.length] as LoopbackHost, bytes, sha256, localPrf });
  }
  return users;
}
