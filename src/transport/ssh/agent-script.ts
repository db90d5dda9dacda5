import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { TargetOs } from '../transport.js';
import type { RemotePaths } from './remote-paths.js';
import { ensureRemoteDir, remoteFileSize, type SftpCall, uploadAndRename } from './sftp-upload.js';

export interface AgentScript {
  readonly bytes: Buffer;
  readonly sha256: string;
}

export type AgentScripts = Readonly<Record<TargetOs, AgentScript>>;

/** The package's agent/ directory (same relative place from src/ and from dist/). */
export const DEFAULT_AGENT_DIR = fileURLToPath(new URL('../../../agent/', import.meta.url));

async function loadOne(path: string): Promise<AgentScript> {
  const bytes = await readFile(path);
  return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

export async function loadAgentScripts(agentDir = DEFAULT_AGENT_DIR): Promise<AgentScripts> {
  const [posix, windows] = await Promise.all([
    loadOne(`${agentDir}/posix/apply-profile.sh`),
    loadOne(`${agentDir}/windows/apply-profile.ps1`),
  ]);
  return { posix, windows };
}

/**
 * Whether the host may hold this version: a file of the same size. A missing or different-sized file is surely
 * stale (push it now); a same-sized one is presumed current, and the run's own SHA-256 check right before the script
 * runs settles it (mode-command.ts: a stale script is never run; the transport pushes and runs again). One stat
 * instead of reading the whole script back on every new connection.
 */
export async function scriptMayBeCurrent(call: SftpCall, paths: RemotePaths, script: AgentScript): Promise<boolean> {
  return (await remoteFileSize(call, paths.script)) === script.bytes.length;
}

/**
 * Push the apply script, so a workstation needs nothing but its SSH server and shell. Written under a unique temp
 * name, read back and renamed, so concurrent agents never run a half-written script.
 */
export async function pushAgentScript(call: SftpCall, paths: RemotePaths, script: AgentScript): Promise<void> {
  await ensureRemoteDir(call, paths.scriptDir);
  const tmp = `${paths.script}.${randomBytes(4).toString('hex')}.tmp`;
  await uploadAndRename(call, tmp, paths.script, script.bytes);
}
