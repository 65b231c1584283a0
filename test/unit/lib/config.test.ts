import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadSettings, SETTING_NAMES, settingDefaults } from '../../../lib/config.js';
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

  it('refuses a polling backoff rate of 1 or less, at which every wait would be 0', () => {
    expect(() => loadSettings({ POLL_BACKOFF_RATE: '1' })).toThrow(/POLL_BACKOFF_RATE: /);
    expect(loadSettings({ POLL_BACKOFF_RATE: '1.01' }).POLL_BACKOFF_RATE).toBe(1.01);
    expect(loadSettings({}).POLL_BACKOFF_RATE).toBe(1.46);
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

/** The rows of the README's configuration table: the variables each names, and its default cell. */
function readmeConfigurationRows(): Array<{ names: string[]; defaults: string[] }> {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Configuration\n'));
  const table = section.slice(0, section.indexOf('\n\n', section.indexOf('\n|')));
  return table
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) => {
      const [names = '', defaults = ''] = line.split(' | ').map((cell) => cell.replace(/^\| /, ''));
      const quoted = (cell: string) => [...cell.matchAll(/`([^`]*)`/g)].map((match) => match[1] ?? '');
      return { names: quoted(names), defaults: quoted(defaults) };
    });
}

/** Variables of the local run only (local/start.ts), not settings of the functions. */
const LOCAL_RUN_VARIABLES = ['LOCAL_S3_PORT', 'LOCAL_HTTP_PORT', 'FAST_WAIT_MS'];

describe('loadSettings: base URLs', () => {
  it('refuses a base URL holding a user name or password, without repeating it', () => {
    for (const [name, value] of [
      ['DGS_API_BASE_URL', 'https://agency:s3cret-pass-91@api-staging.data.gov.sg'],
      ['PP_BASE_URL', 'https://token-only-77a1@pp.example.gov.sg'],
    ] as const) {
      let message = '';
      try {
        loadSettings({ [name]: value });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message, value).toContain(`${name}: must not hold a user name or password`);
      expect(message).not.toMatch(/s3cret-pass-91|token-only-77a1/);
    }
    expect(loadSettings({ PP_BASE_URL: 'https://pp.example.gov.sg/base' }).PP_BASE_URL).toBe(
      'https://pp.example.gov.sg/base',
    );
  });
});

describe("the README's configuration table", () => {
  const rows = readmeConfigurationRows();
  const documented = rows.flatMap((row) => row.names);

  it("names every setting, and only settings or the local run's variables", () => {
    expect(SETTING_NAMES.filter((name) => !documented.includes(name))).toEqual([]);
    expect(
      documented.filter((name) => !SETTING_NAMES.includes(name) && !LOCAL_RUN_VARIABLES.includes(name)),
    ).toEqual([]);
  });

  it("gives each setting's default as the code has it", () => {
    const defaults = settingDefaults();
    const written = (value: unknown) =>
      Array.isArray(value)
        ? value.join(',')
        : value === true
          ? 'on'
          : value === false
            ? 'off'
            : String(value);
    const mismatches = rows.flatMap((row) =>
      row.names.flatMap((name, index) => {
        const expected = defaults[name];
        if (expected === undefined || !SETTING_NAMES.includes(name)) return [];
        const cell = row.defaults[index];
        return cell === written(expected)
          ? []
          : [`${name}: README ${cell ?? '(none)'}, code ${written(expected)}`];
      }),
    );
    expect(mismatches).toEqual([]);
  });
});
