import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../../lib/config.js';
import { ConfigError } from '../../../lib/errors.js';

describe('loadSettings: the exactly-once settings', () => {
  it('defaults the idle confirmation to the first poll wait, the time after which a status is fresh', () => {
    expect(loadSettings({}).IDLE_CONFIRM_SECONDS).toBe(30);
    expect(loadSettings({ POLL_FIRST_WAIT_SECONDS: '45' }).IDLE_CONFIRM_SECONDS).toBe(45);
    expect(
      loadSettings({ POLL_FIRST_WAIT_SECONDS: '45', IDLE_CONFIRM_SECONDS: '0' }).IDLE_CONFIRM_SECONDS,
    ).toBe(0);
  });

  it('has the defaults the README gives', () => {
    expect(loadSettings({})).toMatchObject({
      MAX_TAKEOVERS: 3,
      UPLOAD_ASSUMED_MIB_PER_SECOND: 16,
      DGS_API_KEY_MAX_AGE_SECONDS: 300,
      PP_FILE_LEASE_SECONDS: 960,
      MAX_WAIT_SECONDS: 86_400,
    });
  });

  it('refuses a throughput that is not positive, in one message with every invalid value', () => {
    expect(() => loadSettings({ UPLOAD_ASSUMED_MIB_PER_SECOND: '0', MAX_TAKEOVERS: '-1' })).toThrow(
      ConfigError,
    );
    expect(() => loadSettings({ UPLOAD_ASSUMED_MIB_PER_SECOND: '0', MAX_TAKEOVERS: '-1' })).toThrow(
      /UPLOAD_ASSUMED_MIB_PER_SECOND: .*; MAX_TAKEOVERS: /,
    );
  });
});
