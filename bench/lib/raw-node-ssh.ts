import { connect as connectTcp } from 'node:net';
import { NodeSSH } from 'node-ssh';
import type { BenchUser } from './bench-users.js';
import { installedScript } from './loopback-hosts.js';

export interface RawDeploy {
  readonly login: string;
  readonly privateKey: string;
  /** Campaign folder under each host's staging folder, made beforehand (makeCampaignDirs). */
  readonly campaign: string;
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** The apply script's arguments for one user (the raw loop and the Ansible play run the same command). */
export function applyArguments(user: BenchUser, campaign: string, remotePrf: string): string[] {
  return [
    '--campaign',
    campaign,
    '--user',
    user.name,
    '--prf',
    remotePrf,
    '--office',
    '16.0',
    '--checksum',
    user.sha256,
    '--root',
    user.host.ws.root,
  ];
}

/**
 * The baseline a script writer would start from: node-ssh connect (socket with TCP_NODELAY, as the fleet transport
 * dials: DESIGN §6), SFTP put, exec of the installed apply script, close. No host key check, no retry, no records.
 */
export async function deployRaw(user: BenchUser, options: RawDeploy): Promise<void> {
  const { host, port } = user.host;
  const ssh = new NodeSSH();
  await ssh.connect({
    sock: connectTcp({ host, port, noDelay: true }),
    username: options.login,
    privateKey: options.privateKey,
  });
  try {
    const remotePrf = `${user.host.ws.staging}/${options.campaign}/${user.name}.prf`;
    await ssh.putFile(user.localPrf, remotePrf);
    const script = installedScript(user.host);
    const command = ['sh', script, ...applyArguments(user, options.campaign, remotePrf)].map(quote).join(' ');
    const result = await ssh.execCommand(command);
    if (result.code !== 0) throw new Error(`exit ${result.code}: ${result.stderr}`);
  } finally {
    ssh.dispose();
  }
}
