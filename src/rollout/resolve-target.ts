import type { CampaignFile } from '../config/campaign-schema.js';
import type { UserSpec } from '../csv/user-spec.js';
import { FleetError } from '../errors/index.js';
import type { DeployTarget, TargetOs } from '../transport/transport.js';

/** Defaults when neither the campaign nor the site says otherwise. */
export const DEFAULT_SSH_PORT = 22;
export const DEFAULT_LOGIN = 'fleet-deploy';
export const DEFAULT_STAGING_DIR: Readonly<Record<TargetOs, string>> = {
  windows: 'C:/ProgramData/fleet-rollout/staging',
  posix: '/var/tmp/fleet-rollout',
};

/**
 * Where one user's profile goes: the spec's host, the campaign's `deploy.ssh` settings, then the
 * `deploy.sites[<site>]` overrides on top. The local transport simulates POSIX workstations, so its default OS
 * is posix; over ssh the default is windows (the real fleet).
 */
export function resolveDeployTarget(spec: UserSpec, deploy: CampaignFile['deploy']): DeployTarget {
  if (!spec.host) {
    throw new FleetError('FR_ERR_ROW_FIELD_REQUIRED', 'the user has no host to deploy to', {
      user: spec.username,
      column: 'host',
    });
  }
  const site = spec.site !== undefined ? deploy.sites[spec.site] : undefined;
  const merged = { ...deploy.ssh, ...site };
  const targetOs: TargetOs = merged.target_os ?? (deploy.transport === 'local' ? 'posix' : 'windows');
  return {
    host: spec.host,
    port: merged.port ?? DEFAULT_SSH_PORT,
    login: merged.user ?? DEFAULT_LOGIN,
    targetOs,
    stagingDir: merged.staging_dir ?? DEFAULT_STAGING_DIR[targetOs],
    ...(merged.apply_command !== undefined ? { applyCommand: merged.apply_command } : {}),
  };
}
