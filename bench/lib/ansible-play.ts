import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { BenchUser } from './bench-users.js';
import { createCpuGroup } from './cpu-cgroup.js';
import { installedScript } from './loopback-hosts.js';
import { applyArguments } from './raw-node-ssh.js';

/** Printed when ansible-playbook is missing: the benchmark installs nothing itself. */
export const ANSIBLE_INSTALL_HINT =
  'ansible-playbook is not on PATH, Ansible comparison skipped: install it to compare (Debian/Ubuntu: `apt-get install ansible-core`; elsewhere: `pipx install ansible-core`)';

/** ansible-playbook on PATH, if any. */
export function findAnsiblePlaybook(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v ansible-playbook'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path !== '' ? path : undefined;
}

export interface AnsiblePlayOptions {
  readonly dir: string;
  readonly campaign: string;
  readonly login: string;
  readonly keyPath: string;
  readonly knownHostsPath: string;
  /** Hosts in flight at once: the same concurrency as the other arms. */
  readonly forks: number;
}

export interface AnsibleRun {
  readonly seconds: number;
  /** ansible-playbook, its forks and every ssh process (ControlPersist masters included); undefined without a cgroup. */
  readonly cpuSeconds: number | undefined;
  /** Hosts the recap counts as failed or unreachable. */
  readonly failures: number;
}

/**
 * Ansible at its best for this job: pipelining, ControlPersist (the copy and the command share one SSH connection),
 * no fact gathering, the `host_pinned` strategy (a fork runs both tasks of its host back to back, so the connection
 * is still open for the second one and no host waits for the others), the interpreter named (no discovery round
 * trip), host keys checked against the run's known_hosts, loopback inventory only. ControlPersist is short (10 s)
 * because a host is never visited again: the masters then end soon after the play.
 */
function ansibleConfig(options: AnsiblePlayOptions, inventory: string): string {
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  return [
    '[defaults]',
    `inventory = ${inventory}`,
    `forks = ${options.forks}`,
    'gathering = explicit',
    'host_key_checking = True',
    'retry_files_enabled = False',
    `interpreter_python = ${python}`,
    `local_tmp = ${join(options.dir, 'local-tmp')}`,
    '[ssh_connection]',
    'pipelining = True',
    `ssh_args = -o ControlMaster=auto -o ControlPersist=10s -o UserKnownHostsFile=${options.knownHostsPath} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o BatchMode=yes`,
    `control_path_dir = ${join(options.dir, 'cp')}`,
    '',
  ].join('\n');
}

/** Per host: copy the PRF, then run the installed apply script with the raw loop's exact arguments. */
const PLAY = `- hosts: workstations
  gather_facts: false
  strategy: host_pinned
  tasks:
    - name: copy the PRF
      ansible.builtin.copy:
        src: "{{ prf_local }}"
        dest: "{{ prf_remote }}"
        mode: "0644"
    - name: apply it
      ansible.builtin.command:
        argv: "{{ apply_argv }}"
`;

/** JSON is YAML: the inventory is written as JSON, so paths and argv need no quoting rules of their own. */
function inventoryFor(users: readonly BenchUser[], options: AnsiblePlayOptions): string {
  const hosts = Object.fromEntries(
    users.map((u, i) => {
      const remotePrf = `${u.host.ws.staging}/${options.campaign}/${u.name}.prf`;
      const script = installedScript(u.host);
      return [
        `ws${i}`,
        {
          ansible_host: u.host.host,
          ansible_port: u.host.port,
          prf_local: u.localPrf,
          prf_remote: remotePrf,
          apply_argv: ['sh', script, ...applyArguments(u, options.campaign, remotePrf)],
        },
      ];
    }),
  );
  const vars = { ansible_user: options.login, ansible_ssh_private_key_file: options.keyPath };
  return JSON.stringify({ workstations: { hosts, vars } });
}

/** Writes the config, inventory and play under `options.dir`, runs the play once per user's host, reads the recap. */
export async function runAnsiblePlay(
  ansiblePlaybook: string,
  users: readonly BenchUser[],
  options: AnsiblePlayOptions,
): Promise<AnsibleRun> {
  await mkdir(join(options.dir, 'cp'), { recursive: true });
  const inventory = join(options.dir, 'inventory.yml');
  const config = join(options.dir, 'ansible.cfg');
  const play = join(options.dir, 'play.yml');
  await writeFile(inventory, inventoryFor(users, options));
  await writeFile(config, ansibleConfig(options, inventory));
  await writeFile(play, PLAY);
  const group = createCpuGroup('ansible');
  const started = performance.now();
  const output = await new Promise<string>((resolve, reject) => {
    // The shell waits for one line before it becomes ansible-playbook: by then it is in the group, so is every fork.
    const child = spawn('sh', ['-c', 'read -r go; exec "$@"', 'sh', ansiblePlaybook, play], {
      env: { ...process.env, ANSIBLE_CONFIG: config, ANSIBLE_NOCOLOR: '1' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
    });
    child.once('error', reject);
    child.once('exit', () => resolve(text));
    if (child.pid !== undefined) group?.add(child.pid);
    child.stdin.end('go\n');
  });
  const seconds = (performance.now() - started) / 1000;
  // The persisting masters are idle now: what they add from here on is nothing worth waiting for.
  const cpuSeconds = group?.cpuSeconds();
  await group?.remove();
  let failures = 0;
  let recapped = 0;
  for (const m of output.matchAll(/ok=\d+\s+changed=\d+\s+unreachable=(\d+)\s+failed=(\d+)/g)) {
    recapped += 1;
    if (Number(m[1]) + Number(m[2]) > 0) failures += 1;
  }
  if (recapped !== users.length) {
    throw new Error(`ansible recap lists ${recapped} of ${users.length} hosts:\n${output.slice(-2000)}`);
  }
  if (failures > 0) console.error(`  ansible: ${failures} hosts failed:\n${output.slice(-1500)}`);
  return { seconds, cpuSeconds, failures };
}
