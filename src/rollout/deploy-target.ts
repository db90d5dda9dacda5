/** Where and how to reach one workstation (pure data, resolved from a user's spec and the campaign settings). */

export type TargetOs = 'windows' | 'posix';

/** Where and how to reach one workstation. Credentials are NOT here: the agent process holds them. */
export interface DeployTarget {
  /** Validated hostname or IP literal (never a raw CSV string). */
  readonly host: string;
  readonly port: number;
  /** Remote login (ssh user); ignored by the local transport. */
  readonly login: string;
  readonly targetOs: TargetOs;
  /** Staging root on the workstation; the PRF goes to `<stagingDir>/<campaign>/<fileName>`. */
  readonly stagingDir: string;
  /** Optional apply-command template (see docs/remote-contract.md); default = the shipped agent script. */
  readonly applyCommand?: string;
}
