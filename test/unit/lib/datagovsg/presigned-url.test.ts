import { describe, expect, it } from 'vitest';
import { DEFAULT_UPLOAD_ORIGINS } from '../../../../lib/config.js';
import { parsePresignedUpload, redactUrl } from '../../../../lib/datagovsg/presigned-url.js';
import { UploadUrlNotAllowedError } from '../../../../lib/errors.js';

const SIGNATURE = 'c3444a1b8e9d73d8ac7fd64da4a963860a3e9353ae956f08687a78640dedb834';
const REAL_SHAPE = `https://s3.ap-southeast-1.amazonaws.com/attachments.data.gov.sg/c/6047/private/d_2a/VW/d_2a.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Content-Sha256=UNSIGNED-PAYLOAD&X-Amz-Credential=ASIAEXAMPLE%2F20231129%2Fap-southeast-1%2Fs3%2Faws4_request&X-Amz-Date=20231129T053810Z&X-Amz-Expires=3600&X-Amz-Security-Token=IQoJtoken&X-Amz-Signature=${SIGNATURE}&X-Amz-SignedHeaders=host&x-id=PutObject`;

describe('parsePresignedUpload', () => {
  it('accepts the documented S3 origin and reads the signed headers', () => {
    const upload = parsePresignedUpload(REAL_SHAPE, DEFAULT_UPLOAD_ORIGINS);
    expect([...upload.signedHeaders]).toEqual(['host']);
    expect(upload.redacted).not.toContain(SIGNATURE);
    expect(upload.redacted).not.toContain('IQoJtoken');
    expect(upload.redacted).toContain('X-Amz-Signature=REDACTED');
  });

  it('lists content-md5 and content-type when the URL signed them', () => {
    const url = REAL_SHAPE.replace(
      'X-Amz-SignedHeaders=host',
      'X-Amz-SignedHeaders=content-md5%3Bcontent-type%3Bhost',
    );
    expect([...parsePresignedUpload(url, DEFAULT_UPLOAD_ORIGINS).signedHeaders].sort()).toEqual([
      'content-md5',
      'content-type',
      'host',
    ]);
  });

  it('accepts virtual-hosted bucket URLs when a wildcard origin is configured, never by default', () => {
    const url = REAL_SHAPE.replace('https://s3.ap-southeast-1', 'https://attachments.s3.ap-southeast-1');
    expect(() => parsePresignedUpload(url, DEFAULT_UPLOAD_ORIGINS)).toThrow(UploadUrlNotAllowedError);
    expect(parsePresignedUpload(url, ['https://*.s3.ap-southeast-1.amazonaws.com']).url.hostname).toBe(
      'attachments.s3.ap-southeast-1.amazonaws.com',
    );
  });

  it('holds a link to the bucket the allow list names, wherever its path tries to go', () => {
    const other = (path: string) => REAL_SHAPE.replace('/attachments.data.gov.sg/c/6047/', path);
    for (const url of [
      other('/another-agency-bucket/c/6047/'),
      other('/attachments.data.gov.sg.evil/c/6047/'),
      other('/attachments.data.gov.sg/../another-agency-bucket/'),
      other('/attachments.data.gov.sg/%2e%2e/another-agency-bucket/'),
      other('/ATTACHMENTS.data.gov.sg/c/'),
    ]) {
      expect(() => parsePresignedUpload(url, DEFAULT_UPLOAD_ORIGINS), url).toThrow(
        /Refusing to upload to https:\/\/s3\.ap-southeast-1\.amazonaws\.com\/[^/]*\/: it is not on the allowed list/,
      );
    }
    // The whole origin, when configured so.
    expect(
      parsePresignedUpload(other('/another-agency-bucket/'), ['https://s3.ap-southeast-1.amazonaws.com']).url
        .pathname,
    ).toMatch(/^\/another-agency-bucket\//);
  });

  it.each([
    ['another host', REAL_SHAPE.replace('s3.ap-southeast-1.amazonaws.com', 'evil.example.com')],
    [
      'a lookalike suffix',
      REAL_SHAPE.replace('s3.ap-southeast-1.amazonaws.com', 's3.ap-southeast-1.amazonaws.com.evil.io'),
    ],
    ['another region', REAL_SHAPE.replace('ap-southeast-1.amazonaws', 'us-east-1.amazonaws')],
    ['plain http', REAL_SHAPE.replace('https://', 'http://')],
    ['credentials in the URL', REAL_SHAPE.replace('https://', 'https://user:pw@')],
    ['not a URL', 'not a url'],
  ])('refuses %s', (_, url) => {
    expect(() => parsePresignedUpload(url, DEFAULT_UPLOAD_ORIGINS)).toThrow(UploadUrlNotAllowedError);
  });

  it('never puts the signature in its refusal', () => {
    const url = REAL_SHAPE.replace('s3.ap-southeast-1.amazonaws.com', 'evil.example.com');
    expect(() => parsePresignedUpload(url, DEFAULT_UPLOAD_ORIGINS)).toThrow(/^((?!c3444a1b).)*$/s);
  });

  it('accepts plain http only for a configured loopback origin', () => {
    const local = 'http://127.0.0.1:4567/up/x.csv?X-Amz-Signature=abc&X-Amz-SignedHeaders=host';
    expect(parsePresignedUpload(local, ['http://127.0.0.1:4567']).url.port).toBe('4567');
    expect(() => parsePresignedUpload(local, ['http://127.0.0.1:9999'])).toThrow(UploadUrlNotAllowedError);
    expect(() => parsePresignedUpload('http://10.0.0.1:80/x', ['http://10.0.0.1'])).toThrow(
      UploadUrlNotAllowedError,
    );
  });
});

describe('redactUrl', () => {
  it('masks every secret part wherever it stands in a text', () => {
    const text = `failed to PUT ${REAL_SHAPE} (403)`;
    const redacted = redactUrl(text);
    expect(redacted).not.toMatch(/c3444a1b|IQoJtoken|ASIAEXAMPLE/);
    expect(redacted).toContain('(403)');
  });
});
