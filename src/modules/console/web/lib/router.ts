/** Path routing under /console: the URL is the page, so deep links reload to it. */

export const BASE = '/console';

export type Route =
  | { page: 'overview' }
  | { page: 'devices' }
  | { page: 'device'; id: number }
  | { page: 'alerts' }
  | { page: 'rules' }
  | { page: 'rule'; id: number | 'new' }
  | { page: 'webhooks' }
  | { page: 'webhook'; id: number | 'new' }
  | { page: 'silences' }
  | { page: 'silence-new' }
  | { page: 'admin' }
  | { page: 'not-found'; path: string };

const ID = /^\d{1,15}$/;

export function parseRoute(pathname: string): Route {
  let p = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : pathname;
  p = p.replace(/\/+$/, '');
  const parts = p.split('/').filter(Boolean).map(decodeURIComponent);
  const [a, b, ...rest] = parts;
  if (rest.length) return { page: 'not-found', path: pathname };
  const idOr = (v: string | undefined, allowNew: boolean): number | 'new' | null =>
    v === undefined ? null : allowNew && v === 'new' ? 'new' : ID.test(v) && Number(v) > 0 ? Number(v) : null;
  switch (a) {
    case undefined:
      return { page: 'overview' };
    case 'devices': {
      if (b === undefined) return { page: 'devices' };
      const id = idOr(b, false);
      return typeof id === 'number' ? { page: 'device', id } : { page: 'not-found', path: pathname };
    }
    case 'alerts':
      return b === undefined ? { page: 'alerts' } : { page: 'not-found', path: pathname };
    case 'rules': {
      if (b === undefined) return { page: 'rules' };
      const id = idOr(b, true);
      return id === null ? { page: 'not-found', path: pathname } : { page: 'rule', id };
    }
    case 'webhooks': {
      if (b === undefined) return { page: 'webhooks' };
      const id = idOr(b, true);
      return id === null ? { page: 'not-found', path: pathname } : { page: 'webhook', id };
    }
    case 'silences':
      if (b === undefined) return { page: 'silences' };
      return b === 'new' ? { page: 'silence-new' } : { page: 'not-found', path: pathname };
    case 'admin':
      return b === undefined ? { page: 'admin' } : { page: 'not-found', path: pathname };
    default:
      return { page: 'not-found', path: pathname };
  }
}

/** The path of a console page (`href('/devices/3')` → `/console/devices/3`). */
export const href = (path: string): string => (path === '/' ? BASE : BASE + path);
