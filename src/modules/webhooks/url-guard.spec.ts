import type { LookupAddress } from 'node:dns';
import { assertSafeWebhookUrl, guardedLookup, isForbiddenAddress, UnsafeUrlError } from './url-guard';

const noLookup = async (): Promise<never> => {
  throw new Error('an IP literal must not be looked up');
};
const resolvesTo =
  (...addresses: string[]) =>
  async () =>
    addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

async function refusal(url: string, lookup = noLookup as (host: string) => Promise<LookupAddress[]>): Promise<string> {
  try {
    await assertSafeWebhookUrl(url, { allowPrivate: false, lookup });
  } catch (err) {
    expect(err).toBeInstanceOf(UnsafeUrlError);
    return (err as UnsafeUrlError).reason;
  }
  throw new Error(`${url} was allowed`);
}

describe('isForbiddenAddress', () => {
  it.each([
    '127.0.0.1',
    '127.255.0.9',
    '10.0.0.1',
    '172.16.5.4',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '100.100.100.200',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    'fe80::1',
    'fe80::1%eth0',
    'fd00::1',
    'fd00:ec2::254',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:a9fe:a9fe',
    '::127.0.0.1',
    '64:ff9b::a00:1',
    '64:ff9b::169.254.169.254',
    '2002:c0a8:101::1',
    'not an address',
  ])('forbids %s', (ip) => {
    expect(isForbiddenAddress(ip)).toBe(true);
  });

  it.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '100.128.0.1', '2606:4700::1111', '::ffff:93.184.216.34', '64:ff9b::808:808'])(
    'allows %s',
    (ip) => {
      expect(isForbiddenAddress(ip)).toBe(false);
    },
  );
});

describe('assertSafeWebhookUrl', () => {
  it.each([
    'http://127.0.0.1/hook',
    'http://10.0.0.1/hook',
    'https://172.16.5.4/hook',
    'http://192.168.1.1:8080/hook',
    'http://169.254.169.254/latest/meta-data/',
    'http://100.64.0.1/',
    'http://0.0.0.0/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/',
    'http://[fe80::1]/',
    'http://[fd00::1]/',
    'http://0x7f.1/',
    'http://2130706433/',
  ])('refuses the IP literal in %s without a lookup', async (url) => {
    expect(await refusal(url)).toMatch(/private address/);
  });

  it('refuses schemes other than http and https', async () => {
    expect(await refusal('ftp://x')).toBe('url must use http or https');
    expect(await refusal('file:///etc/passwd')).toBe('url must use http or https');
  });

  it('refuses localhost names without a lookup', async () => {
    expect(await refusal('http://localhost:3000/')).toMatch(/local host name/);
    expect(await refusal('http://api.LOCALHOST./')).toMatch(/local host name/);
  });

  it('refuses a name when any of its addresses is forbidden', async () => {
    expect(await refusal('https://hooks.example.com/', resolvesTo('127.0.0.1'))).toBe(
      'url resolves to a private address (127.0.0.1)',
    );
    expect(await refusal('https://hooks.example.com/', resolvesTo('93.184.216.34', '::ffff:10.0.0.1'))).toBe(
      'url resolves to a private address (::ffff:10.0.0.1)',
    );
  });

  it('refuses a name that does not resolve, and passes transient resolver failures through', async () => {
    const notFound = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    };
    expect(await refusal('https://nowhere.example/', notFound)).toBe('url host does not resolve');
    expect(await refusal('https://nowhere.example/', resolvesTo())).toBe('url host does not resolve');
    const transient = Object.assign(new Error('getaddrinfo EAI_AGAIN'), { code: 'EAI_AGAIN' });
    await expect(
      assertSafeWebhookUrl('https://flaky.example/', {
        allowPrivate: false,
        lookup: async () => {
          throw transient;
        },
      }),
    ).rejects.toBe(transient);
  });

  it('allows public addresses, literal or resolved', async () => {
    for (const url of ['https://93.184.216.34/hook', 'https://[2606:4700::1111]/hook']) {
      await expect(assertSafeWebhookUrl(url, { allowPrivate: false, lookup: noLookup })).resolves.toBeUndefined();
    }
    await expect(
      assertSafeWebhookUrl('https://user:pw@hooks.example.com/x', {
        allowPrivate: false,
        lookup: resolvesTo('93.184.216.34', '2606:4700::1111'),
      }),
    ).resolves.toBeUndefined();
  });

  it('with allowPrivate checks only the scheme', async () => {
    await expect(assertSafeWebhookUrl('http://127.0.0.1:9000/hook', { allowPrivate: true })).resolves.toBeUndefined();
    await expect(assertSafeWebhookUrl('http://localhost:9000/hook', { allowPrivate: true })).resolves.toBeUndefined();
    await expect(assertSafeWebhookUrl('ftp://127.0.0.1/', { allowPrivate: true })).rejects.toBeInstanceOf(UnsafeUrlError);
  });
});

describe('guardedLookup', () => {
  const run = (allowPrivate: boolean, all: boolean) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: string | LookupAddress[]; family?: number }>((resolve) =>
      guardedLookup(allowPrivate)('localhost', { all }, (err, address, family) => resolve({ err, address, family })),
    );

  it('refuses a name that resolves to loopback, whatever the options', async () => {
    for (const all of [false, true]) {
      const { err } = await run(false, all);
      expect(err?.code).toBe('EUNSAFEADDRESS');
      expect(err?.message).toMatch(/private address \((127\.0\.0\.1|::1)\)/);
    }
  });

  it('with allowPrivate answers in the shape options.all asks for', async () => {
    const one = await run(true, false);
    expect(one.err).toBeNull();
    expect(isForbiddenAddress(one.address as string)).toBe(true);
    expect([4, 6]).toContain(one.family);

    const all = await run(true, true);
    expect(all.err).toBeNull();
    expect(Array.isArray(all.address)).toBe(true);
    expect((all.address as LookupAddress[]).length).toBeGreaterThan(0);
  });
});
