import { FleetError } from '../../errors/index.js';
import type { DeployTarget, TargetOs } from '../transport.js';

/**
 * Where things go on a workstation. SFTP paths always use `/` (Windows OpenSSH: `/C:/dir/file`);
 * native paths are what the apply command receives (`C:\dir\file` on Windows).
 */
export interface RemotePaths {
  readonly campaignDir: string;
  readonly scriptDir: string;
  readonly script: string;
  readonly prf: string;
  readonly prfTmp: string;
  readonly nativeScript: string;
  readonly nativePrf: string;
}

const SCRIPT_NAMES: Readonly<Record<TargetOs, string>> = {
  posix: 'apply-profile.sh',
  windows: 'apply-profile.ps1',
};

const CAMPAIGN_RE = /^[A-Za-z0-9._-]{1,64}$/;
const FILE_NAME_RE = /^[^/\\\u0000-\u001f\u007f:*?"<>|]{1,200}\.prf$/;
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

function refuse(what: string, host: string): never {
  throw new FleetError('FR_ERR_JOB_PAYLOAD_INVALID', `invalid ${what} for a remote path`, { host, step: 'paths' });
}

/** `C:\a\b` or `C:/a/b` → `/C:/a/b`; posix paths unchanged. */
function toSftpPath(stagingDir: string, os: TargetOs): string {
  if (os === 'posix') return stagingDir.replace(/\/+$/, '');
  const slashed = stagingDir.replace(/\\/g, '/').replace(/\/+$/, '');
  return /^[A-Za-z]:/.test(slashed) ? `/${slashed}` : slashed;
}

function toNative(sftpPath: string, os: TargetOs): string {
  if (os === 'posix') return sftpPath;
  return sftpPath.replace(/^\/([A-Za-z]:)/, '$1').replace(/\//g, '\\');
}

/** Validates every piece (defence in depth: values are quoted later too) and builds the paths. */
export function resolveRemotePaths(target: DeployTarget, campaign: string, fileName: string): RemotePaths {
  const os = target.targetOs;
  if (!CAMPAIGN_RE.test(campaign)) refuse('campaign name', target.host);
  if (!FILE_NAME_RE.test(fileName) || fileName.startsWith('.')) refuse('file name', target.host);
  const absolute = os === 'posix' ? target.stagingDir.startsWith('/') : /^[A-Za-z]:[\\/]/.test(target.stagingDir);
  if (!absolute || CONTROL_RE.test(target.stagingDir) || /(^|[\\/])\.\.([\\/]|$)/.test(target.stagingDir)) {
    refuse('staging directory', target.host);
  }
  const root = toSftpPath(target.stagingDir, os);
  const campaignDir = `${root}/${campaign}`;
  const scriptDir = `${root}/.fleet`;
  const script = `${scriptDir}/${SCRIPT_NAMES[os]}`;
  const prf = `${campaignDir}/${fileName}`;
  const prfTmp = `${prf}.tmp`;
  return {
    campaignDir,
    scriptDir,
    script,
    prf,
    prfTmp,
    nativeScript: toNative(script, os),
    nativePrf: toNative(prf, os),
  };
}
