/**
 * SSRF guard for webhook targets. DESIGN.md asks for the check at creation and at every
 * delivery; `guardedLookup` repeats it at connect time, because a name may resolve to a
 * public address when checked and to an internal one when the socket opens (DNS rebinding).
 */
import { lookup as dnsLookup, promises as dnsPromises, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

const FORBIDDEN_V4: [string, number][] = [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT; also holds Alibaba's metadata 100.100.100.200
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local; holds the cloud metadata 169.254.169.254
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments (incl. DS-Lite, NAT64 discovery)
  ['192.0.2.0', 24], // documentation
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking, often routed to internal test networks
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and 255.255.255.255 broadcast
];

const FORBIDDEN_V6: [string, number][] = [
  ['::', 128],
  ['::1', 128],
  ['100::', 64], // discard-only
  ['64:ff9b:1::', 48], // local-use NAT64: translates into whatever the local network is
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local; holds AWS's metadata fd00:ec2::254
  ['fe80::', 10],
  ['fec0::', 10], // deprecated site-local, still routed internally by some networks
  ['ff00::', 8], // multicast
];

function blockList(ranges: [string, number][], family: 'ipv4' | 'ipv6'): BlockList {
  const list = new BlockList();
  for (const [network, prefix] of ranges) list.addSubnet(network, prefix, family);
  return list;
}

const blockedV4 = blockList(FORBIDDEN_V4, 'ipv4');
const blockedV6 = blockList(FORBIDDEN_V6, 'ipv6');

/** 16 bytes of an address `isIP` has already accepted as IPv6 (zone id stripped). */
function ipv6Bytes(ip: string): Uint8Array {
  let text = ip;
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    tail.push(...text.slice(lastColon + 1).split('.').map(Number));
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [head, rest] = text.split('::');
  const headGroups = head ? head.split(':') : [];
  const restGroups = rest === undefined ? [] : rest ? rest.split(':') : [];
  const zeros = rest === undefined ? [] : Array(8 - headGroups.length - restGroups.length).fill('0');
  const bytes = new Uint8Array(16);
  [...headGroups, ...zeros, ...restGroups].forEach((group, i) => {
    const value = parseInt(group, 16);
    bytes[i * 2] = value >> 8;
    bytes[i * 2 + 1] = value & 0xff;
  });
  if (tail.length) bytes.set(tail, 12);
  return bytes;
}

const v4At = (bytes: Uint8Array, offset: number): string => Array.from(bytes.subarray(offset, offset + 4)).join('.');
const allZero = (bytes: Uint8Array, from: number, to: number): boolean => bytes.subarray(from, to).every((b) => b === 0);

/**
 * The IPv4 address an IPv6 one stands for on the wire, where the translation is done by the
 * host or the network: IPv4-mapped, IPv4-compatible, NAT64 well-known prefix, 6to4.
 */
function embeddedV4(bytes: Uint8Array): string | null {
  if (allZero(bytes, 0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return v4At(bytes, 12);
  if (allZero(bytes, 0, 12)) return v4At(bytes, 12);
  const nat64 = [0x00, 0x64, 0xff, 0x9b];
  if (nat64.every((b, i) => bytes[i] === b) && allZero(bytes, 4, 12)) return v4At(bytes, 12);
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return v4At(bytes, 2);
  return null;
}

/** Fails closed: anything that is not an IP address is forbidden. */
export function isForbiddenAddress(ip: string): boolean {
  const address = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  const family = isIP(address);
  if (family === 4) return blockedV4.check(address, 'ipv4');
  if (family !== 6) return true;
  const unzoned = address.split('%')[0];
  if (blockedV6.check(unzoned, 'ipv6')) return true;
  const v4 = embeddedV4(ipv6Bytes(unzoned));
  return v4 !== null && blockedV4.check(v4, 'ipv4');
}

export class UnsafeUrlError extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'UnsafeUrlError';
  }
}

export type HostLookup = (host: string) => Promise<{ address: string; family: number }[]>;

export interface UrlGuardOptions {
  allowPrivate: boolean;
  lookup?: HostLookup;
}

const systemLookup: HostLookup = (host) => dnsPromises.lookup(host, { all: true, verbatim: true });

/** Codes that mean the name has no address, as opposed to a resolver that could not answer now. */
const NOT_FOUND_CODES = new Set(['ENOTFOUND', 'ENODATA', 'EAI_NONAME', 'EAI_NODATA']);

function isLocalhostName(host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

/**
 * Every resolved address must be allowed, not just the first: the client may try any of them
 * (happy eyeballs), so one internal address among public ones is enough to reach it.
 * A resolver that fails for a transient reason (EAI_AGAIN, timeouts) rethrows its own error,
 * so a delivery can retry instead of being refused for good.
 */
export async function assertSafeWebhookUrl(url: string, opts: UrlGuardOptions): Promise<void> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UnsafeUrlError('url is not a valid URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UnsafeUrlError('url must use http or https');
  }
  if (opts.allowPrivate) return;

  // WHATWG parsing already turned 0x7f.1, 2130706433 and similar spellings into dotted quads.
  const host = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  if (isIP(host)) {
    if (isForbiddenAddress(host)) throw new UnsafeUrlError(`url points to a private address (${host})`);
    return;
  }
  if (isLocalhostName(host)) throw new UnsafeUrlError(`url points to a local host name (${host})`);

  let addresses: { address: string }[];
  try {
    addresses = await (opts.lookup ?? systemLookup)(host);
  } catch (err) {
    if (NOT_FOUND_CODES.has(err?.code)) throw new UnsafeUrlError('url host does not resolve');
    throw err;
  }
  if (addresses.length === 0) throw new UnsafeUrlError('url host does not resolve');
  const forbidden = addresses.find((a) => isForbiddenAddress(a.address));
  if (forbidden) throw new UnsafeUrlError(`url resolves to a private address (${forbidden.address})`);
}

/**
 * The `lookup` for the delivery agents. Node skips `lookup` for IP-literal hosts, so those
 * rely on `assertSafeWebhookUrl` before each delivery; this catches names only.
 */
export function guardedLookup(allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    const lookupOptions: LookupOptions & { all: true } = { ...options, all: true };
    dnsLookup(hostname, lookupOptions, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, options.all ? [] : '');
      if (!allowPrivate) {
        const forbidden = addresses.find((a) => isForbiddenAddress(a.address));
        if (forbidden) {
          const refusal: NodeJS.ErrnoException = new Error(
            `refusing to connect to ${hostname}: it resolves to a private address (${forbidden.address})`,
          );
          refusal.code = 'EUNSAFEADDRESS';
          return callback(refusal, options.all ? [] : '');
        }
      }
      if (options.all) return callback(null, addresses);
      return callback(null, addresses[0].address, addresses[0].family);
    });
  };
}
