import {formatS3Url, keyFor, parseS3Url, resolveS3Config, S3Storage} from '../../../src/lib/storage/s3.js'

describe('s3:// locations', () => {
  test('bucket and prefix, without leading or trailing slashes', () => {
    expect(parseS3Url('s3://dr-backups')).toEqual({bucket: 'dr-backups', prefix: ''})
    expect(parseS3Url('s3://dr-backups/')).toEqual({bucket: 'dr-backups', prefix: ''})
    expect(parseS3Url('s3://dr-backups/vault/region1/')).toEqual({bucket: 'dr-backups', prefix: 'vault/region1'})
    expect(keyFor(parseS3Url('s3://b12/vault'), 'x.snap')).toBe('vault/x.snap')
    expect(keyFor(parseS3Url('s3://b12'), 'x.snap')).toBe('x.snap')
    expect(formatS3Url(parseS3Url('s3://b12/vault/'), 'x.snap')).toBe('s3://b12/vault/x.snap')
    expect(formatS3Url(parseS3Url('s3://b12'))).toBe('s3://b12')
  })

  test.each([
    ['/backups/vault', 'does not start with s3://'],
    ['s3://', 'is not a bucket name'],
    ['s3://Upper/x', 'is not a bucket name'],
    ['s3://ab/x', 'is not a bucket name'],
    ['s3://bucket/a//b', 'empty, "." or ".."'],
    ['s3://bucket/a/../b', 'empty, "." or ".."'],
    ['s3://bucket/a\u0007b', 'control characters'],
  ])('%j is refused, saying why', (url, why) => {
    expect(() => parseS3Url(url)).toThrow(why)
  })
})

describe('S3 settings from the environment and flags', () => {
  test('no custom endpoint: AWS, virtual-hosted style, the region from AWS_REGION (else us-east-1)', () => {
    expect(resolveS3Config({env: {}})).toEqual({endpoint: undefined, forcePathStyle: false, region: 'us-east-1', caBundle: undefined})
    expect(resolveS3Config({env: {AWS_REGION: 'eu-west-1'}}).region).toBe('eu-west-1')
    expect(resolveS3Config({env: {AWS_DEFAULT_REGION: 'eu-north-1'}}).region).toBe('eu-north-1')
  })

  test('a custom endpoint means path style, unless --no-s3-path-style; the S3-specific variable wins', () => {
    expect(resolveS3Config({env: {AWS_ENDPOINT_URL: 'http://minio:9000'}})).toMatchObject({endpoint: 'http://minio:9000', forcePathStyle: true})
    expect(resolveS3Config({env: {AWS_ENDPOINT_URL: 'http://all:1', AWS_ENDPOINT_URL_S3: 'http://s3only:2'}}).endpoint).toBe('http://s3only:2')
    expect(resolveS3Config({env: {AWS_ENDPOINT_URL_S3: 'http://minio:9000'}, pathStyle: false}).forcePathStyle).toBe(false)
    expect(resolveS3Config({env: {}, pathStyle: true}).forcePathStyle).toBe(true)
  })

  test('the CA bundle: --s3-ca-bundle, else AWS_CA_BUNDLE; an unreadable one is refused by name', () => {
    expect(resolveS3Config({env: {AWS_CA_BUNDLE: '/etc/ca.pem'}}).caBundle).toBe('/etc/ca.pem')
    expect(resolveS3Config({env: {AWS_CA_BUNDLE: '/etc/ca.pem'}, caBundle: '/flag.pem'}).caBundle).toBe('/flag.pem')
    expect(() => new S3Storage(parseS3Url('s3://bucket'), {env: {}, caBundle: '/nonexistent/ca.pem'})).toThrow(/cannot read the CA bundle \/nonexistent\/ca\.pem \(ENOENT\)/)
  })

  test('credentials are never part of the resolved settings', () => {
    const config = resolveS3Config({env: {AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE', AWS_SECRET_ACCESS_KEY: 'canary-secret-key', AWS_ENDPOINT_URL_S3: 'http://s3:9000'}})
    expect(JSON.stringify(config)).not.toContain('canary-secret-key')
    expect(JSON.stringify(config)).not.toContain('AKIAEXAMPLE')
  })
})
