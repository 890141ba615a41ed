import { helmSettingsFromEnv } from './helm-settings.js';
import { mirrorRepository, parseRepositoryMirrors } from './repository-mirrors.js';

describe('repository mirrors', () => {
  it('reads from=to pairs, ignoring spaces, empty entries and trailing slashes', () => {
    expect(parseRepositoryMirrors(' https://charts.jetstack.io/=http://127.0.0.1:4566/charts/jetstack , ,oci://docker.io/envoyproxy=oci://127.0.0.1:4566/envoyproxy')).toEqual([
      { from: 'https://charts.jetstack.io', to: 'http://127.0.0.1:4566/charts/jetstack' },
      { from: 'oci://docker.io/envoyproxy', to: 'oci://127.0.0.1:4566/envoyproxy' },
    ]);
    expect(parseRepositoryMirrors(undefined)).toEqual([]);
    expect(parseRepositoryMirrors('')).toEqual([]);
  });

  it('names the bad entry', () => {
    expect(() => parseRepositoryMirrors('https://a.example=https://b.example,oops')).toThrow('repository mirror "oops" is not of the form from=to');
    expect(() => parseRepositoryMirrors('charts.jetstack.io=http://x')).toThrow('repository mirror "charts.jetstack.io=http://x": "charts.jetstack.io" is not an http(s):// or oci:// URL');
    expect(() => parseRepositoryMirrors('https://a.example=')).toThrow('repository mirror "https://a.example=": "" is not an http(s):// or oci:// URL');
    expect(() => parseRepositoryMirrors('oci://docker.io/envoyproxy=http://mirror.example')).toThrow('an OCI registry can only be mirrored by another one');
    expect(() => parseRepositoryMirrors('https://a.example=https://b.example,https://a.example/=https://c.example')).toThrow('"https://a.example" is mirrored twice');
  });

  it('rewrites the longest prefix that ends at a path boundary', () => {
    const mirrors = parseRepositoryMirrors('oci://ghcr.io=oci://mirror.example/ghcr,oci://ghcr.io/stefanprodan/charts=oci://127.0.0.1:4566/stefanprodan/charts,https://charts.example=https://mirror.example/charts');
    expect(mirrorRepository('oci://ghcr.io/stefanprodan/charts', mirrors)).toBe('oci://127.0.0.1:4566/stefanprodan/charts');
    expect(mirrorRepository('oci://ghcr.io/other/charts/', mirrors)).toBe('oci://mirror.example/ghcr/other/charts');
    expect(mirrorRepository('https://charts.example/sub', mirrors)).toBe('https://mirror.example/charts/sub');
    // Not a boundary: charts.example.org is another host.
    expect(mirrorRepository('https://charts.example.org', mirrors)).toBe('https://charts.example.org');
    expect(mirrorRepository('https://charts.jetstack.io', [])).toBe('https://charts.jetstack.io');
  });
});

describe('helm settings from the environment', () => {
  it('reads every variable, leaving defaults for the unset ones', () => {
    expect(helmSettingsFromEnv({})).toEqual({});
    expect(
      helmSettingsFromEnv({
        TUGBOAT_HELM_BINARY: '/opt/helm',
        TUGBOAT_HELM_MIRRORS: 'https://charts.jetstack.io=http://127.0.0.1:4566/charts/jetstack',
        TUGBOAT_HELM_PLAIN_HTTP_HOSTS: '127.0.0.1:4566, localhost:5000',
        TUGBOAT_HELM_CACHE_DIR: '/var/cache/tugboat-helm',
        TUGBOAT_HELM_TIMEOUT_MS: '30000',
      }),
    ).toEqual({
      helmBinary: '/opt/helm',
      mirrors: [{ from: 'https://charts.jetstack.io', to: 'http://127.0.0.1:4566/charts/jetstack' }],
      plainHttpHosts: ['127.0.0.1:4566', 'localhost:5000'],
      cacheDir: '/var/cache/tugboat-helm',
      timeoutMs: 30_000,
    });
  });

  it('names the variable that is wrong', () => {
    expect(() => helmSettingsFromEnv({ TUGBOAT_HELM_TIMEOUT_MS: '10s' })).toThrow('TUGBOAT_HELM_TIMEOUT_MS: "10s" is not a positive whole number of milliseconds');
    expect(() => helmSettingsFromEnv({ TUGBOAT_HELM_MIRRORS: 'nope' })).toThrow('TUGBOAT_HELM_MIRRORS: repository mirror "nope" is not of the form from=to');
  });
});
