import { FleetError } from '../errors/index.js';
import { applyCapsOverrides, type CapsOverrideFlags } from './apply-caps-overrides.js';
import { type CampaignFile, campaignFileSchema } from './campaign-schema.js';

/**
 * Campaign-level SSH settings given as flags on `run`/`import`, as commander hands them over (strings).
 * No secret among them: credentials stay with the agent.
 */
export interface DeployOverrideFlags extends CapsOverrideFlags {
  readonly sshUser?: string;
  readonly sshPort?: string | number;
  readonly targetOs?: string;
  readonly stagingDir?: string;
  readonly applyCommand?: string;
}

type SshSettings = CampaignFile['deploy']['ssh'];

/** Flag → key of `deploy.ssh` (the flag name is what an error message shows). */
const FLAGS: ReadonlyArray<
  readonly [Exclude<keyof DeployOverrideFlags, keyof CapsOverrideFlags>, keyof SshSettings, string]
> = [
  ['sshUser', 'user', '--ssh-user'],
  ['sshPort', 'port', '--ssh-port'],
  ['targetOs', 'target_os', '--target-os'],
  ['stagingDir', 'staging_dir', '--staging-dir'],
  ['applyCommand', 'apply_command', '--apply-command'],
];

/** `"2222"` → 2222; anything else stays a string so the schema says what is wrong with it. */
function toPort(value: string | number): string | number {
  return typeof value === 'string' && /^\d{1,6}$/.test(value) ? Number(value) : value;
}

/**
 * The campaign file with the flags laid over its `deploy.ssh` values (pure). The result goes through the campaign
 * file's own zod schema, so a flag obeys exactly the rules of the key it replaces; a bad value is one
 * `FR_ERR_USAGE` naming the flag. `deploy.sites` overrides are kept: a site's own value still wins for its users.
 */
export function applyDeployOverrides(file: CampaignFile, flags: DeployOverrideFlags): CampaignFile {
  const settings = applyCapsOverrides(file, flags);
  const overrides: Record<string, unknown> = {};
  const given = new Map<string, { flag: string; value: unknown }>();
  for (const [option, key, flag] of FLAGS) {
    const raw = flags[option];
    if (raw === undefined) continue;
    const value = key === 'port' ? toPort(raw) : raw;
    overrides[key] = value;
    given.set(key, { flag, value: raw });
  }
  if (given.size === 0) return settings;
  const merged = { ...settings, deploy: { ...settings.deploy, ssh: { ...settings.deploy.ssh, ...overrides } } };
  const result = campaignFileSchema.safeParse(merged);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const [section, group, key] = issue.path;
    const source = section === 'deploy' && group === 'ssh' ? given.get(String(key)) : undefined;
    if (!source) return `${issue.path.join('.')}: ${issue.message}`;
    // a flag is always text: "expected number, received string" would puzzle whoever typed --ssh-port abc
    const reason =
      key === 'port' && issue.code === 'invalid_type' ? 'expected a port number (1 to 65535)' : issue.message;
    return `${source.flag} ${JSON.stringify(String(source.value))}: ${reason}`;
  });
  throw new FleetError('FR_ERR_USAGE', problems.join('; '));
}
