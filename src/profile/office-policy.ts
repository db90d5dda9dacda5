import type { OfficeVersion } from '../csv/user-spec.js';

/**
 * Which Outlook versions a campaign moves to RPC over HTTP with a PRF (docs/prf.md, "What a PRF can do per
 * Outlook version"). Outlook 2016 and later (16.0) take their Exchange settings from Autodiscover and prefer MAPI
 * over HTTP, so a PRF cannot move them to RPC over HTTP; Outlook 2013 (15.0) does the same against Exchange 2013
 * SP1 and later. Such rows are skipped unless the campaign says otherwise.
 */
export interface OfficePolicy {
  /** `skip` (default): 16.0 rows are skipped with FR_ERR_OFFICE_POLICY_SKIPPED; `apply`: the PRF is staged anyway. */
  readonly office16: 'skip' | 'apply';
  /** The mailboxes live on Exchange 2013 SP1 or later (MAPI over HTTP): 15.0 rows are skipped too. */
  readonly mailboxOnExchange2013OrLater: boolean;
}

export const DEFAULT_OFFICE_POLICY: OfficePolicy = Object.freeze({
  office16: 'skip',
  mailboxOnExchange2013OrLater: false,
});

/** The reason a row of this Outlook version is skipped, or undefined when the policy lets it through. */
export function officePolicySkipReason(office: OfficeVersion, policy: OfficePolicy = DEFAULT_OFFICE_POLICY) {
  if (office === '16.0' && policy.office16 === 'skip') {
    return 'Outlook 2016 or later (16.0) takes Exchange settings from Autodiscover: a PRF cannot move it to RPC over HTTP (campaign profile.office_policy.office_16: skip)';
  }
  if (office === '15.0' && policy.mailboxOnExchange2013OrLater) {
    return 'Outlook 2013 (15.0) against Exchange 2013 SP1 or later connects with MAPI over HTTP from Autodiscover (campaign profile.office_policy.mailbox_on_exchange_2013_or_later: true)';
  }
  return undefined;
}
