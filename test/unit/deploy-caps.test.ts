import { describe, expect, it } from 'vitest';
import { applyDeployOverrides } from '../../src/config/apply-deploy-overrides.js';
import { toDeployCaps } from '../../src/config/caps-settings.js';
import { parseCampaignText } from '../../src/config/parse-campaign-text.js';
import { FleetError } from '../../src/errors/index.js';
import {
  type DeployCaps,
  describeSlotWait,
  renewEveryMs,
  resolveRateScopes,
  resolveSlotScopes,
  slotRecheckMs,
  UNCAPPED,
} from '../../src/rollout/deploy-caps.js';

const CAPS: DeployCaps = {
  maxInFlight: 40,
  perSite: 5,
  perHost: 8,
  sites: { LYON: 3 },
  connectionsPerSecond: 20,
  siteConnectionsPerSecond: 4,
  leaseMs: 60_000,
};

function refusal(run: () => unknown): FleetError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(FleetError);
    return error as FleetError;
  }
  throw new Error('expected a refusal');
}

describe('deploy caps (pure)', () => {
  it('a deploy holds the fleet, its site and its host slots; a site entry wins over per_site', () => {
    expect(resolveSlotScopes(CAPS, 'LYON', 'ws1')).toEqual([
      { kind: 'global', name: '*', cap: 40 },
      { kind: 'site', name: 'LYON', cap: 3 },
      { kind: 'host', name: 'ws1', cap: 8 },
    ]);
    expect(resolveSlotScopes(CAPS, 'PARIS', 'ws2')[1]).toEqual({ kind: 'site', name: 'PARIS', cap: 5 });
    // Site names are the CSV values as written: lyon is not LYON.
    expect(resolveSlotScopes(CAPS, 'lyon', 'ws2')[1]?.cap).toBe(5);
  });

  it('counts a site even without a cap (the status shows it), the fleet only under a fleet cap', () => {
    const bare: DeployCaps = { perHost: 8, sites: {}, leaseMs: 60_000 };
    expect(resolveSlotScopes(bare, 'NICE', 'ws')).toEqual([
      { kind: 'site', name: 'NICE', cap: UNCAPPED },
      { kind: 'host', name: 'ws', cap: 8 },
    ]);
    expect(resolveSlotScopes(bare, undefined, 'ws').map((s) => s.kind)).toEqual(['host']);
    expect(resolveSlotScopes(CAPS, undefined, 'ws').map((s) => s.kind)).toEqual(['global', 'host']);
  });

  it('connection rates: the fleet bucket and the site bucket, only those set', () => {
    expect(resolveRateScopes(CAPS, 'LYON')).toEqual([
      { kind: 'global', name: '*', perSecond: 20 },
      { kind: 'site', name: 'LYON', perSecond: 4 },
    ]);
    expect(resolveRateScopes(CAPS, undefined)).toHaveLength(1);
    expect(resolveRateScopes({ perHost: 8, sites: {}, leaseMs: 1000 }, 'LYON')).toEqual([]);
  });

  it('says which scope is full, in words', () => {
    expect(describeSlotWait({ kind: 'site', name: 'LYON', cap: 3 }, 3)).toBe('waiting for a slot: site LYON 3/3');
    expect(describeSlotWait({ kind: 'global', name: '*', cap: 40 }, 40)).toBe('waiting for a slot: all sites 40/40');
    expect(describeSlotWait({ kind: 'host', name: 'ws1', cap: 8 }, 9)).toBe('waiting for a slot: host ws1 9/8');
  });

  it('renews three times per lease, rechecks within 0.5-1.5 s', () => {
    expect(renewEveryMs(60_000)).toBe(20_000);
    expect(renewEveryMs(300)).toBe(200);
    expect(slotRecheckMs(0)).toBe(500);
    expect(slotRecheckMs(0.999)).toBeLessThan(1500);
  });
});

describe('caps in the campaign file', () => {
  it('absent: no shared caps; present: per_host 8 and a 60 s lease by default', () => {
    expect(toDeployCaps(parseCampaignText('', 'c.yaml').caps)).toBeUndefined();
    expect(toDeployCaps(parseCampaignText('caps: {}\n', 'c.yaml').caps)).toEqual({
      perHost: 8,
      sites: {},
      leaseMs: 60_000,
    });
    const file = parseCampaignText(
      [
        'caps:',
        '  max_in_flight: 40',
        '  per_site: 5',
        '  per_host: 4',
        '  sites: { LYON: 3 }',
        '  connections_per_second: 20',
        '  site_connections_per_second: 2.5',
        '  lease_seconds: 30',
        '',
      ].join('\n'),
      'c.yaml',
    );
    expect(toDeployCaps(file.caps)).toEqual({
      maxInFlight: 40,
      perSite: 5,
      perHost: 4,
      sites: { LYON: 3 },
      connectionsPerSecond: 20,
      siteConnectionsPerSecond: 2.5,
      leaseMs: 30_000,
    });
  });

  it('refuses bad values with their line', () => {
    const error = refusal(() =>
      parseCampaignText('name: x\ncaps:\n  per_site: 0\n  sites:\n    LYON: 2.5\n  burst: 3\n', 'c.yaml'),
    );
    expect(error.code).toBe('FR_ERR_CAMPAIGN_FILE_INVALID');
    expect(error.message).toContain('line 3: caps.per_site');
    expect(error.message).toContain('line 5: caps.sites.LYON');
    expect(error.message).toContain('line 6: caps.burst: unknown key');
    expect(refusal(() => parseCampaignText('caps:\n  lease_seconds: 1\n', 'c.yaml')).message).toContain(
      'line 2: caps.lease_seconds',
    );
  });
});

describe('caps flags over the campaign file', () => {
  const FILE = parseCampaignText('caps:\n  per_site: 5\n  sites: { LYON: 3, PARIS: 4 }\n', 'c.yaml');

  it('lay over the file: a --site-cap replaces one site, the others stay', () => {
    const caps = applyDeployOverrides(FILE, {
      maxInFlight: '30',
      siteCap: ['LYON=2', 'NICE=1'],
      connectionsPerSecond: '7.5',
    }).caps;
    expect(caps).toMatchObject({ max_in_flight: 30, per_site: 5, connections_per_second: 7.5 });
    expect(caps?.sites).toEqual({ LYON: 2, PARIS: 4, NICE: 1 });
  });

  it('any caps flag turns the caps on; none leaves the file as it was', () => {
    const none = parseCampaignText('', 'c.yaml');
    expect(applyDeployOverrides(none, {}).caps).toBeUndefined();
    expect(applyDeployOverrides(none, { perHostCap: '3' }).caps).toMatchObject({ per_host: 3, lease_seconds: 60 });
  });

  it('a bad flag is one usage error naming the flag', () => {
    const error = refusal(() => applyDeployOverrides(FILE, { perSiteCap: 'three', perHostCap: '0' }));
    expect(error.code).toBe('FR_ERR_USAGE');
    expect(error.message).toContain('--per-site-cap "three": expected a number');
    expect(error.message).toContain('--per-host-cap "0"');
    expect(refusal(() => applyDeployOverrides(FILE, { siteCap: ['LYON'] })).message).toContain('use SITE=N');
  });
});
