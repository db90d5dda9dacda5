import { InvalidArgumentError } from 'commander';
import type { CampaignStatus } from '../campaign/campaign-status.js';

/**
 * How `run --follow` and `wait` end (README "Exit codes"): a script waiting for a campaign learns from the exit
 * code alone whether every user made it. Halted beats failed users beats rejected rows.
 */
export const CAMPAIGN_EXIT = Object.freeze({
  /** The campaign ended with failed users (default; `--fail-exit-code N` changes it, `--no-fail-on-failures` → 0). */
  failedUsers: 3,
  halted: 4,
  cancelled: 5,
  /** `wait --timeout` ran out before the campaign ended. */
  timeout: 6,
});

export interface OutcomeFlags {
  /** commander's `--no-fail-on-failures` sets it false. */
  readonly failOnFailures?: boolean;
  readonly failExitCode?: number;
}

export function failedUsers(status: CampaignStatus): number {
  return status.counts.failed + status.counts['rollback-failed'];
}

/** 0 when the campaign is done without failed users; see CAMPAIGN_EXIT otherwise. */
export function campaignExitCode(status: CampaignStatus, flags: OutcomeFlags): number {
  const { state } = status.campaign;
  if (state === 'halted') return CAMPAIGN_EXIT.halted;
  if (state === 'cancelled') return CAMPAIGN_EXIT.cancelled;
  if (failedUsers(status) > 0 && flags.failOnFailures !== false) {
    return flags.failExitCode ?? CAMPAIGN_EXIT.failedUsers;
  }
  return 0;
}

/** The last line: what happened, in words a script's log shows (the halt reason included). */
export function describeEnding(status: CampaignStatus): string {
  const { campaign, counts } = status;
  const failed = failedUsers(status);
  const tally = `${counts.applied} applied, ${failed} failed, ${counts.skipped} skipped`;
  if (campaign.state === 'halted') return `campaign ${campaign.name} halted: ${campaign.stateReason} (${tally})`;
  if (campaign.state === 'cancelled') return `campaign ${campaign.name} cancelled: ${campaign.stateReason} (${tally})`;
  const hint = failed > 0 ? ` — see \`fleet-rollout report ${campaign.name} --state failed\`` : '';
  return `campaign ${campaign.name} ${campaign.state}: ${tally}${hint}`;
}

/** `--fail-exit-code`: 1-125 (0 would hide the failure; above 125 the shell reserves). */
export function parseExitCode(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 125) throw new InvalidArgumentError('expected an integer from 1 to 125');
  return n;
}

/** `--timeout`: seconds, or a number with s, m or h (`90`, `30m`, `2h`). */
export function parseTimeout(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError('expected a duration: 90, 90s, 30m or 2h');
  const unit = { s: 1_000, m: 60_000, h: 3_600_000 }[(match[2] ?? 's') as 's' | 'm' | 'h'];
  return Number(match[1]) * unit;
}
