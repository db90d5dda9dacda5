import type { CampaignFile } from '../config/campaign-schema.js';
import type { UserSpec } from '../csv/user-spec.js';
import { FleetError } from '../errors/index.js';
import type { DeployTarget, TargetOs } from './deploy-target.js';

/** Defaults when neither the campaign nor the site says otherwise. */
export const DEFAULT_SSH_PORT = 22;
export const DEFAULT_LOGIN = 'fleet-deploy';
export const DEFAULT_STAGING_DIR: Readonly<Record<TargetOs, string>> = {
  windows: 'C:/ProgramData/fleet-rollout/staging',
  posix: '/var/tmp/fleet-rollout',
};

/**
 * Where one user's profile goes: the spec's host, the campaign's `deploy.ssh` settings, then the
 * `deploy.sites[<site>]` overrides on top; windows unless told otherwise (the real fleet). The local transport
 * simulates POSIX workstations under one directory: the ssh section does not describe them, so it is ignored.
 */
export function resolveDeployTarget(spec: UserSpec, deploy: CampaignFile['deploy']): DeployTarget {
  if (!spec.host) {
    throw new FleetError('FR_ERR_ROW_FIELD_REQUIRED', 'the user has no host to deploy to', {
      user: spec.username,
      column: 'host',
    });
  }
  if (deploy.transport === 'local') {
    return {
      host: spec.host,
      port: DEFAULT_SSH_PORT,
      login: DEFAULT_LOGIN,
      targetOs: 'posix',
      stagingDir: DEFAULT_STAGING_DIR.posix,
    };
  }
  const site = spec.site !== undefined ? deploy.sites[spec.site] : undefined;
  const merged = { ...deploy.ssh, ...site };
  const targetOs: TargetOs = merged.target_os ?? 'windows';
  return {
    host: spec.host,
    port: merged.port ?? DEFAULT_SSH_PORT,
    login: merged.user ?? DEFAULT_LOGIN,
    targetOs,
    stagingDir: merged.staging_dir ?? DEFAULT_STAGING_DIR[targetOs],
    ...(merged.apply_command !== undefined ? { applyCommand: merged.apply_command } : {}),
  };
}
