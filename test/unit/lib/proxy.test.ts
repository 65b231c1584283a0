import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbClient } from '../../../lib/aws-clients/dynamodb.js';
import { createS3Client } from '../../../lib/aws-clients/s3.js';
import { loadSettings, type Settings } from '../../../lib/config.js';
import { ConfigError, DgsTransientError } from '../../../lib/errors.js';
import { isLoopbackHost } from '../../../lib/loopback.js';
import { noMetrics } from '../../../lib/metrics.js';
import { createPpClient } from '../../../lib/performance-platform/create-client.js';
import {
  outboundProxy,
  type ProxyEnv,
  proxiedFetch,
  proxyAgentFor,
  proxyFor,
  proxyOrigin,
  sdkRequestHandler,
} from '../../../lib/proxy.js';
import { sendFile } from '../../../lib/publish/send-file.js';
import { createDataGovSgClient } from '../../../lib/runtime.js';
import {
  type LocalDynamoDb,
  localDynamoClientConfig,
  startLocalDynamoDb,
} from '../../../local/aws/dynamodb.js';
import { type LocalS3, localS3ClientConfig, startLocalS3 } from '../../../local/aws/s3.js';
import {
  type LocalDataGovSg,
  SAMPLE_DATASETS,
  startLocalDataGovSg,
} from '../../../local/datagovsg/server.js';
import {
  type LocalPerformancePlatform,
  startLocalPerformancePlatform,
} from '../../../local/performance-platform/server.js';
import { recordingLog } from '../../fakes/recording-log.js';
import { testSecret } from '../../leak-scan.js';
import { type ForwardProxy, startForwardProxy } from '../../support/forward-proxy.js';

const KEY = 'proxy-test-key-7c1e4a';
const DATASET = SAMPLE_DATASETS[0]?.datasetId ?? '';
const PP_TOKEN = 'proxy-test-pp-token-2b9d';
const BUCKET = 'proxy-test-bucket';

function proxy(env: ProxyEnv) {
  const found = outboundProxy(env);
  if (!found) throw new Error('expected a proxy');
  return found;
}

describe('the proxy rules (lib/proxy.ts)', () => {
  it('finds no proxy when no variable is set, or NO_PROXY is *', () => {
    expect(outboundProxy({})).toBeUndefined();
    expect(outboundProxy({ HTTPS_PROXY: '', NO_PROXY: 'example.com' })).toBeUndefined();
    expect(outboundProxy({ HTTPS_PROXY: 'http://proxy.corp:8080', NO_PROXY: '*' })).toBeUndefined();
  });

  it('takes HTTPS_PROXY for https and HTTP_PROXY for http; HTTP_PROXY alone serves both', () => {
    const both = proxy({ HTTPS_PROXY: 'http://secure.corp:3128', HTTP_PROXY: 'http://plain.corp:3128' });
    expect(proxyFor(both, new URL('https://api-production.data.gov.sg/v2'))?.host).toBe('secure.corp:3128');
    expect(proxyFor(both, new URL('http://example.com/'))?.host).toBe('plain.corp:3128');

    const httpOnly = proxy({ HTTP_PROXY: 'http://plain.corp:3128' });
    expect(proxyFor(httpOnly, new URL('https://example.com/'))?.host).toBe('plain.corp:3128');

    const httpsOnly = proxy({ HTTPS_PROXY: 'http://secure.corp:3128' });
    expect(proxyFor(httpsOnly, new URL('http://example.com/'))).toBeUndefined();
  });

  it('prefers the lowercase spelling, and reads host:port without a scheme as http', () => {
    const found = proxy({ https_proxy: 'lower.corp:8080', HTTPS_PROXY: 'http://upper.corp:8080' });
    expect(found.https.href).toBe('http://lower.corp:8080/');
  });

  it('refuses a proxy that is not http(s), naming the variable but never its value', () => {
    const error = (() => {
      try {
        outboundProxy({ HTTPS_PROXY: 'socks5://alice:hunter2-secret@proxy.corp:1080' });
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(String((error as Error).message)).toMatch(/^HTTPS_PROXY must be an http/);
    expect(String((error as Error).message)).not.toContain('hunter2');
  });

  it('never proxies loopback, whatever NO_PROXY says', () => {
    const found = proxy({
      HTTPS_PROXY: 'http://proxy.corp:8080',
      HTTP_PROXY: 'http://proxy.corp:8080',
      NO_PROXY: '',
    });
    for (const url of [
      'http://127.0.0.1:4569/',
      'http://127.1.2.3/',
      'https://localhost/',
      'http://[::1]:8080/',
      'http://[::ffff:127.0.0.1]/',
    ]) {
      expect(proxyFor(found, new URL(url)), url).toBeUndefined();
    }
    expect(isLoopbackHost('10.0.0.1')).toBe(false);
    expect(isLoopbackHost('localhost.example.com')).toBe(false);
    expect(isLoopbackHost('api.localhost')).toBe(false);
  });

  it('honours NO_PROXY as undici does: hosts, domains with their subdomains, ports', () => {
    const found = proxy({
      HTTPS_PROXY: 'http://proxy.corp:8080',
      NO_PROXY: 'intranet.gov.sg, .internal,*.corp.example ,s3.amazonaws.com:8443',
    });
    const direct = (url: string) => proxyFor(found, new URL(url)) === undefined;
    expect(direct('https://intranet.gov.sg/')).toBe(true);
    expect(direct('https://wiki.intranet.gov.sg/')).toBe(true);
    expect(direct('https://notintranet.gov.sg/')).toBe(false);
    expect(direct('https://a.b.internal/')).toBe(true);
    expect(direct('https://x.corp.example/')).toBe(true);
    expect(direct('https://s3.amazonaws.com:8443/')).toBe(true);
    expect(direct('https://s3.amazonaws.com/')).toBe(false);
    expect(direct('https://api-production.data.gov.sg/')).toBe(false);
  });

  it("shows a proxy by its origin, without the user's password", () => {
    expect(proxyOrigin(new URL('http://alice:hunter2@proxy.corp:8080/'))).toBe('http://proxy.corp:8080');
  });

  it('builds nothing new when no proxy is set: the SDK gets the same options, fetch stays global', async () => {
    const options = { connectionTimeout: 5_000 };
    expect(sdkRequestHandler(options, {})).toBe(options);
    expect(proxiedFetch({})).toBeUndefined();
    expect(await proxyAgentFor(new URL('https://example.com/'), {})).toBeUndefined();
  });
});

describe('every outbound client through a recording forward proxy', () => {
  let dgs: LocalDataGovSg;
  let pp: LocalPerformancePlatform;
  let s3: LocalS3;
  let dynamo: LocalDynamoDb;
  let recorder: ForwardProxy;
  const portOf = (url: string) => new URL(url).port;

  beforeAll(async () => {
    [dgs, pp, s3, dynamo] = await Promise.all([
      startLocalDataGovSg({ apiKeys: [KEY], datasets: SAMPLE_DATASETS }),
      startLocalPerformancePlatform({
        dataSets: [{ dataGroup: 'proxy', dataType: 'checks', bearerToken: PP_TOKEN }],
      }),
      startLocalS3({ buckets: [BUCKET] }),
      startLocalDynamoDb(),
    ]);
  });
  afterAll(async () => {
    await Promise.all([dgs?.close(), pp?.close(), s3?.close(), dynamo?.close()]);
  });
  afterEach(async () => {
    await recorder?.close();
  });

  /**
   * Settings for a data.gov.sg at `baseUrl`. Plain http to a name that is not loopback fails
   * the settings' own check (a key never travels in clear), so tests that need an answer set the
   * URL after loading; the https tests load it as a user would.
   */
  function dgsSettings(baseUrl: string, env: Record<string, string> = {}): Settings {
    return {
      ...loadSettings({
        DGS_API_KEY: KEY,
        DGS_MAX_ATTEMPTS: '1',
        DGS_REQUEST_TIMEOUT_MS: '5000',
        UPLOAD_ALLOWED_ORIGINS: dgs.uploadOrigin,
        ...env,
      }),
      DGS_API_BASE_URL: baseUrl,
    };
  }

  it('data.gov.sg: the API call goes through HTTP_PROXY, with the proxy user and password', async () => {
    // Prepare
    recorder = await startForwardProxy();
    const withUser = new URL(recorder.url);
    withUser.username = 'alice';
    withUser.password = testSecret('proxy-pass-51d2');
    const settings = dgsSettings(`http://dgs.test:${portOf(dgs.baseUrl)}`);

    // Act
    const user = await createDataGovSgClient(settings, async () => KEY, {
      env: { HTTP_PROXY: withUser.href },
    }).whoami();

    // Assess
    expect(user.userId).toBe('167');
    expect(recorder.requests).toEqual([
      {
        method: 'CONNECT',
        target: `dgs.test:${portOf(dgs.baseUrl)}`,
        proxyAuthorization: `Basic ${Buffer.from('alice:proxy-pass-51d2').toString('base64')}`,
      },
    ]);
  });

  it('data.gov.sg over https: the tunnel is asked of HTTPS_PROXY, not HTTP_PROXY', async () => {
    // Prepare: the local stand-in speaks plain http, so the TLS handshake inside the tunnel
    // fails; what matters is which proxy was asked for the tunnel.
    recorder = await startForwardProxy();
    const other = await startForwardProxy();
    const target = `https://dgs.test:${portOf(dgs.baseUrl)}`;
    const settings = dgsSettings(target, { DGS_API_BASE_URL: target });

    // Act
    const error = await createDataGovSgClient(settings, async () => KEY, {
      env: { HTTPS_PROXY: recorder.url, HTTP_PROXY: other.url },
    })
      .whoami()
      .catch((caught: unknown) => caught);
    await other.close();

    // Assess
    expect(error).toBeInstanceOf(DgsTransientError);
    expect(error).toMatchObject({ kind: 'network' });
    expect(recorder.requests.map((request) => `${request.method} ${request.target}`)).toEqual([
      `CONNECT dgs.test:${portOf(dgs.baseUrl)}`,
    ]);
    expect(other.requests).toEqual([]);
  });

  it('data.gov.sg: a proxy that refuses the tunnel is a network error that names no password', async () => {
    // Prepare
    recorder = await startForwardProxy({ refuseWith: 407 });
    const withUser = new URL(recorder.url);
    withUser.username = 'alice';
    withUser.password = testSecret('proxy-pass-9e3f');
    const settings = dgsSettings(`http://dgs.test:${portOf(dgs.baseUrl)}`);

    // Act
    const error = await createDataGovSgClient(settings, async () => KEY, {
      env: { HTTP_PROXY: withUser.href },
    })
      .whoami()
      .catch((caught: unknown) => caught);

    // Assess
    expect(error).toMatchObject({ name: 'DgsTransientError', kind: 'network' });
    expect(recorder.requests).toHaveLength(1);
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain('proxy-pass-9e3f');
    expect(String((error as Error).message)).not.toContain('proxy-pass-9e3f');
  });

  it('data.gov.sg: loopback goes direct even with both proxies set and NO_PROXY empty', async () => {
    // Prepare
    recorder = await startForwardProxy();
    const settings = dgsSettings(dgs.baseUrl);
    const env = { HTTPS_PROXY: recorder.url, HTTP_PROXY: recorder.url, NO_PROXY: '' };

    // Act
    const user = await createDataGovSgClient(settings, async () => KEY, { env }).whoami();
    const localhost = await createDataGovSgClient(
      dgsSettings(`http://localhost:${portOf(dgs.baseUrl)}`),
      async () => KEY,
      { env },
    ).whoami();

    // Assess
    expect(user.userId).toBe('167');
    expect(localhost.userId).toBe('167');
    expect(recorder.requests).toEqual([]);
  });

  it('data.gov.sg: a host in NO_PROXY goes direct, another goes through the proxy', async () => {
    // Prepare: dgs.test resolves nowhere, so going direct fails at the lookup.
    recorder = await startForwardProxy();
    const settings = dgsSettings(`http://dgs.test:${portOf(dgs.baseUrl)}`);

    // Act
    const excluded = await createDataGovSgClient(settings, async () => KEY, {
      env: { HTTP_PROXY: recorder.url, NO_PROXY: 'example.com,.test' },
    })
      .whoami()
      .catch((caught: unknown) => caught);
    const proxied = await createDataGovSgClient(settings, async () => KEY, {
      env: { HTTP_PROXY: recorder.url, NO_PROXY: 'example.com,other.test' },
    }).whoami();

    // Assess
    expect(excluded).toMatchObject({ name: 'DgsTransientError', kind: 'network' });
    expect(proxied.userId).toBe('167');
    expect(recorder.requests.map((request) => request.target)).toEqual([`dgs.test:${portOf(dgs.baseUrl)}`]);
  });

  it('data.gov.sg: without proxy variables the global fetch is used and the proxy sees nothing', async () => {
    // Prepare
    recorder = await startForwardProxy();
    const settings = dgsSettings(`http://dgs.test:${portOf(dgs.baseUrl)}`);

    // Act
    const error = await createDataGovSgClient(settings, async () => KEY, { env: {} })
      .whoami()
      .catch((caught: unknown) => caught);

    // Assess: the name resolves nowhere without the proxy.
    expect(error).toMatchObject({ name: 'DgsTransientError', kind: 'network' });
    expect(recorder.requests).toEqual([]);
  });

  it('the presigned PUT goes through the proxy', async () => {
    // Prepare: the stand-in's links point at 127.0.0.1, which never goes through a proxy; the
    // link is renamed to a name the proxy maps back to it.
    recorder = await startForwardProxy();
    const client = createDataGovSgClient(dgsSettings(dgs.baseUrl), async () => KEY, { env: {} });
    const renamed = async (link: Awaited<ReturnType<typeof client.uploadLink>>) => {
      const url = new URL(link.url);
      url.hostname = 'upload.test';
      return { ...link, url };
    };
    const body = Buffer.from('a,b\n1,2\n');
    const log = recordingLog();

    // Act
    const attempt = await sendFile(
      {
        dgs: {
          ingestionStatus: (id) => client.ingestionStatus(id),
          redact: (text) => client.redact(text),
          uploadLink: async (id) => renamed(await client.uploadLink(id)),
          appendLink: async (id, md5) => renamed(await client.appendLink(id, md5)),
        },
        settings: { UPLOAD_MAX_ATTEMPTS: 1, UPLOAD_IDLE_TIMEOUT_SECONDS: 10, IDLE_CONFIRM_SECONDS: 0 },
        log,
        metrics: noMetrics,
        now: () => new Date(),
        env: { HTTP_PROXY: recorder.url },
      },
      {
        source: { key: 'proxy.csv', size: body.length, open: async () => Readable.from([body]) },
        datasetId: DATASET,
        mode: 'replace',
        md5Base64: createHash('md5').update(body).digest('base64'),
      },
    );

    // Assess
    expect(attempt.unconfirmed).toBe(false);
    expect(dgs.uploads(DATASET).map((upload) => upload.md5Base64)).toContain(
      createHash('md5').update(body).digest('base64'),
    );
    expect(recorder.requests.map((request) => `${request.method} ${request.target}`)).toEqual([
      `CONNECT upload.test:${portOf(dgs.uploadOrigin)}`,
    ]);
  });

  it('the Performance Platform client goes through the proxy', async () => {
    // Prepare
    recorder = await startForwardProxy();
    const client = createPpClient(
      {
        PP_BASE_URL: `http://pp.test:${portOf(pp.baseUrl)}`,
        PP_REQUEST_TIMEOUT_MS: 5_000,
        PP_MAX_ATTEMPTS: 1,
        PP_TOTAL_TIME_MS: 10_000,
        PP_GZIP_ABOVE_BYTES: 2048,
      },
      async () => PP_TOKEN,
      { env: { HTTP_PROXY: recorder.url } },
    );

    // Act
    const outcome = await client.post(
      'proxy',
      'checks',
      JSON.stringify([{ _id: 'one', _timestamp: '2026-01-01T00:00:00Z', count: 1 }]),
    );

    // Assess
    expect(outcome).toMatchObject({ ok: true });
    expect(await pp.records('proxy', 'checks')).toHaveLength(1);
    expect(recorder.requests.map((request) => request.target)).toEqual([`pp.test:${portOf(pp.baseUrl)}`]);
  });

  it('the AWS SDK (S3, DynamoDB) goes through the proxy, and loopback endpoints go direct', async () => {
    // Prepare
    recorder = await startForwardProxy();
    const env = { HTTP_PROXY: recorder.url };
    const s3ViaProxy = createS3Client(
      { ...localS3ClientConfig(`http://s3.test:${portOf(s3.endpoint)}`), maxAttempts: 1 },
      env,
    );
    const dynamoViaProxy = createDynamoDbClient(
      { ...localDynamoClientConfig(`http://dynamodb.test:${portOf(dynamo.endpoint)}`), maxAttempts: 1 },
      env,
    );
    const s3Direct = createS3Client({ ...localS3ClientConfig(s3.endpoint), maxAttempts: 1 }, env);

    // Act
    const listed = await s3ViaProxy.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    const tables = await dynamoViaProxy.send(new ListTablesCommand({}));
    const direct = await s3Direct.send(new ListObjectsV2Command({ Bucket: BUCKET }));
    for (const client of [s3ViaProxy, dynamoViaProxy, s3Direct]) client.destroy();

    // Assess
    expect(listed.Name).toBe(BUCKET);
    expect(tables.TableNames).toEqual([]);
    expect(direct.Name).toBe(BUCKET);
    expect(recorder.requests.map((request) => `${request.method} ${request.target}`)).toEqual([
      `CONNECT s3.test:${portOf(s3.endpoint)}`,
      `CONNECT dynamodb.test:${portOf(dynamo.endpoint)}`,
    ]);
  });

  it('the AWS SDK over https asks HTTPS_PROXY for the tunnel; NO_PROXY sends it direct', async () => {
    // Prepare: s3rver speaks plain http, so the handshake inside the tunnel fails.
    recorder = await startForwardProxy();
    const endpoint = `https://s3.test:${portOf(s3.endpoint)}`;
    const client = (env: ProxyEnv) =>
      createS3Client({ ...localS3ClientConfig(endpoint), maxAttempts: 1 }, env);
    const viaProxy = client({ HTTPS_PROXY: recorder.url });
    const excluded = client({ HTTPS_PROXY: recorder.url, NO_PROXY: 's3.test' });

    // Act
    const tunnelled = await viaProxy
      .send(new ListObjectsV2Command({ Bucket: BUCKET }))
      .catch((e: unknown) => e);
    const direct = await excluded.send(new ListObjectsV2Command({ Bucket: BUCKET })).catch((e: unknown) => e);
    for (const each of [viaProxy, excluded]) each.destroy();

    // Assess
    expect(tunnelled).toBeInstanceOf(Error);
    expect(direct).toMatchObject({ code: 'ENOTFOUND' });
    expect(recorder.requests.map((request) => `${request.method} ${request.target}`)).toEqual([
      `CONNECT s3.test:${portOf(s3.endpoint)}`,
    ]);
  });
});
