import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDataGovSg, SAMPLE_DATASETS, startLocalDataGovSg } from '../../local/datagovsg/server.js';
import { testSecret } from '../leak-scan.js';
import { type ForwardProxy, startForwardProxy } from '../support/forward-proxy.js';
import { runGovpub } from './govpub-cli.js';

const KEY = 'proxy-cli-key-5e8b0d';
const PROXY_PASSWORD = testSecret('proxy-cli-pass-3a7f');

let dgs: LocalDataGovSg;
let recorder: ForwardProxy;

beforeAll(async () => {
  [dgs, recorder] = await Promise.all([
    startLocalDataGovSg({ apiKeys: [KEY], datasets: SAMPLE_DATASETS }),
    startForwardProxy({ maxRequests: 5 }),
  ]);
});
afterAll(async () => {
  await Promise.all([dgs?.close(), recorder?.close()]);
});

describe('govpub behind a proxy, run as a subprocess', { timeout: 60_000 }, () => {
  it('whoami asks HTTPS_PROXY for the tunnel, with its user, and shows the proxy without its password', async () => {
    // Prepare: the stand-in speaks plain http, so the TLS handshake inside the tunnel fails
    // (exit 6); the proxy's record is the proof that the CLI went through it.
    const port = new URL(dgs.baseUrl).port;
    const proxy = new URL(recorder.url);
    proxy.username = 'alice';
    proxy.password = PROXY_PASSWORD;

    // Act
    const run = await runGovpub(['whoami'], {
      DGS_API_BASE_URL: `https://dgs.test:${port}`,
      DGS_API_KEY: KEY,
      DGS_MAX_ATTEMPTS: '1',
      HTTPS_PROXY: proxy.href,
    });

    // Assess
    expect(run.code).toBe(6);
    expect(run.stderr).toContain(
      `hint: Requests to https://dgs.test:${port} go through the proxy ${recorder.url} (HTTPS_PROXY or HTTP_PROXY)`,
    );
    expect(`${run.stdout}${run.stderr}`).not.toContain(PROXY_PASSWORD);
    expect(recorder.requests).toEqual([
      {
        method: 'CONNECT',
        target: `dgs.test:${port}`,
        proxyAuthorization: `Basic ${Buffer.from(`alice:${PROXY_PASSWORD}`).toString('base64')}`,
      },
    ]);
  });

  it('whoami against a stand-in on 127.0.0.1 goes direct although both proxies are set', async () => {
    // Prepare
    const before = recorder.requests.length;

    // Act
    const run = await runGovpub(['whoami'], {
      DGS_API_BASE_URL: dgs.baseUrl,
      DGS_API_KEY: KEY,
      HTTPS_PROXY: recorder.url,
      HTTP_PROXY: recorder.url,
    });

    // Assess
    expect(run.code).toBe(0);
    expect(`${run.stdout}${run.stderr}`).toMatch(/The API key works/);
    expect(recorder.requests).toHaveLength(before);
  });
});
