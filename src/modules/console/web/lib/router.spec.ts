import { href, parseRoute } from './router';

describe('console routes', () => {
  it('reads every page from its path, so deep links reload to it', () => {
    expect(parseRoute('/console')).toEqual({ page: 'overview' });
    expect(parseRoute('/console/')).toEqual({ page: 'overview' });
    expect(parseRoute('/console/devices')).toEqual({ page: 'devices' });
    expect(parseRoute('/console/devices/42')).toEqual({ page: 'device', id: 42 });
    expect(parseRoute('/console/alerts')).toEqual({ page: 'alerts' });
    expect(parseRoute('/console/rules/new')).toEqual({ page: 'rule', id: 'new' });
    expect(parseRoute('/console/rules/7')).toEqual({ page: 'rule', id: 7 });
    expect(parseRoute('/console/webhooks/3')).toEqual({ page: 'webhook', id: 3 });
    expect(parseRoute('/console/silences/new')).toEqual({ page: 'silence-new' });
    expect(parseRoute('/console/admin')).toEqual({ page: 'admin' });
    expect(parseRoute('/console/devices/0').page).toBe('not-found');
    expect(parseRoute('/console/devices/abc').page).toBe('not-found');
    expect(parseRoute('/console/nope').page).toBe('not-found');
    expect(parseRoute('/console/alerts/1/2').page).toBe('not-found');
    expect(href('/')).toBe('/console');
    expect(href('/devices/3')).toBe('/console/devices/3');
  });
});
