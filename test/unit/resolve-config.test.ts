import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/resolve-config.js';

describe('resolveConfig', () => {
  it('gives every default in one place', () => {
    expect(resolveConfig()).toEqual({
      redisUrl: 'redis://127.0.0.1:6379',
      prefix: 'fleet',
      allowEviction: false,
      logLevel: 'info',
      reportDir: 'reports',
      batchSize: 1000,
    });
  });

  it('takes flags over the environment over the file, and honours LOG_LEVEL', () => {
    const config = resolveConfig({
      flags: { prefix: 'from-flag', redisUrl: undefined },
      env: { REDIS_URL: 'redis://env:6379', FLEET_PREFIX: 'from-env', LOG_LEVEL: 'debug' },
      file: { redisUrl: 'redis://file:6379', reportDir: 'out' },
    });
    expect(config).toMatchObject({
      prefix: 'from-flag',
      redisUrl: 'redis://env:6379',
      logLevel: 'debug',
      reportDir: 'out',
    });
  });

  it('is frozen, and refuses a bad value with the setting it belongs to', () => {
    expect(Object.isFrozen(resolveConfig())).toBe(true);
    expect(() => resolveConfig({ env: { LOG_LEVEL: 'loud' } })).toThrow(/logLevel/);
    expect(() => resolveConfig({ flags: { prefix: 'a:b' } })).toThrow(/prefix: use 1-32 letters/);
  });

  it('reads the retention of finished campaigns (campaign prune) from FLEET_RETENTION_DAYS', () => {
    expect(resolveConfig({ env: { FLEET_RETENTION_DAYS: '90' } }).retentionDays).toBe(90);
    expect(() => resolveConfig({ env: { FLEET_RETENTION_DAYS: '0' } })).toThrow(/retentionDays/);
    expect(() => resolveConfig({ env: { FLEET_RETENTION_DAYS: 'soon' } })).toThrow(/retentionDays/);
  });
});
