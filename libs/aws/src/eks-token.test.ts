import { createEksTokenSource, EKS_TOKEN_PREFIX } from './eks-token.js';

describe('createEksTokenSource', () => {
  it('keeps one token for 10 minutes, then signs a new one (EKS takes a token for 15)', async () => {
    let now = Date.UTC(2026, 11, 6, 12, 0, 0);
    let signed = 0;
    const source = createEksTokenSource({
      clusterName: 'prod',
      region: 'eu-west-1',
      credentials: () => {
        signed += 1;
        return Promise.resolve({ accessKeyId: 'AKIAEXAMPLEEXAMPLE01', secretAccessKey: 'secret' });
      },
      now: () => now,
    });
    const first = await source();
    expect(first.startsWith(EKS_TOKEN_PREFIX)).toBe(true);
    const url = new URL(Buffer.from(first.slice(EKS_TOKEN_PREFIX.length), 'base64url').toString());
    expect(url.host).toBe('sts.eu-west-1.amazonaws.com');
    expect(url.searchParams.get('X-Amz-Date')).toBe('20261206T120000Z');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('60');

    now += 9 * 60_000 + 59_000;
    expect(await source()).toBe(first);
    now += 1_000;
    const second = await source();
    expect(second).not.toBe(first);
    expect(new URL(Buffer.from(second.slice(EKS_TOKEN_PREFIX.length), 'base64url').toString()).searchParams.get('X-Amz-Date')).toBe('20261206T121000Z');
    expect(signed).toBe(2);
  });

  it('signs once for callers that ask at the same time', async () => {
    let signed = 0;
    const source = createEksTokenSource({
      clusterName: 'prod',
      region: 'eu-west-1',
      credentials: () => {
        signed += 1;
        return Promise.resolve({ accessKeyId: 'AKIAEXAMPLEEXAMPLE01', secretAccessKey: 'secret' });
      },
    });
    const tokens = await Promise.all([source(), source(), source()]);
    expect(new Set(tokens).size).toBe(1);
    expect(signed).toBe(1);
  });
});
