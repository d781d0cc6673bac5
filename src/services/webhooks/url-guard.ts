import dns from 'node:dns';
import net from 'node:net';
import { appError } from '../../errors.ts';

/**
 * SSRF guard. Wajah is self-hosted and webhook receivers usually sit on the same LAN (or host), so
 * private addresses are allowed by default. An operator who lets untrusted tenants register URLs
 * sets WAJAH_WEBHOOK_ALLOW_PRIVATE=0: then loopback, RFC 1918, CGNAT, link-local (cloud metadata
 * 169.254.169.254 included), multicast, reserved and IPv6 unique-local addresses are refused both
 * when the URL is saved and at every connection (the resolved address is checked in the socket's
 * DNS lookup, so a name that re-resolves to a private address later is still refused).
 *
 * Link-local addresses (169.254.0.0/16 with the cloud metadata service, fe80::/10) and the cloud
 * metadata endpoints outside them (METADATA_V4/V6 below) are refused whatever the setting: no
 * receiver lives there, and the metadata services hand out credentials.
 */
const BLOCKED = new net.BlockList();
for (const [net4, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  BLOCKED.addSubnet(net4, bits, 'ipv4');
}
for (const [net6, bits] of [
  ['::', 96], // the unspecified address, loopback and the deprecated IPv4-compatible ::a.b.c.d
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48], // local-use NAT64
  ['2002::', 16], // 6to4 embeds any IPv4 address, private ones included (deprecated: RFC 7526)
  ['fec0::', 10], // site-local (deprecated, still routed on some networks)
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  BLOCKED.addSubnet(net6, bits, 'ipv6');
}

/**
 * Cloud metadata and platform endpoints outside link-local. They hand out credentials or platform
 * configuration and no receiver lives there, but the ranges they sit in are not refused on their own:
 * Alibaba's 100.100.100.200 is CGNAT and Oracle Classic's 192.0.0.192 is IETF-reserved, both allowed by
 * private setups, and Azure's WireServer 168.63.129.16 is public space, reachable (its error answers even
 * recorded in the log) with WAJAH_WEBHOOK_ALLOW_PRIVATE=0.
 */
const METADATA_V4: ReadonlyArray<readonly [string, number]> = [
  ['169.254.0.0', 16], // link-local: AWS, Azure, GCP, Oracle, OpenStack… at 169.254.169.254, ECS and EKS credentials at 169.254.170.x
  ['100.100.100.200', 32], // Alibaba Cloud
  ['168.63.129.16', 32], // Azure WireServer (and platform DNS)
  ['192.0.0.192', 32], // Oracle Cloud Infrastructure Classic
];
/** The metadata services' IPv6 addresses, in the unique-local range private setups allow. */
const METADATA_V6: ReadonlyArray<readonly [string, number]> = [
  ['fd00:ec2::', 32], // AWS service block: IMDS ::254, EKS Pod Identity ::23, DNS, NTP
  ['fd20:ce::254', 128], // Google Cloud
  ['fd00:c1::a9fe:a9fe', 128], // Oracle Cloud Infrastructure
  ['fd00:42::42', 128], // Scaleway
  ['fd00:a9fe:a9fe::1', 128], // Akamai / Linode
  ['fd00:100::100:200', 128], // Alibaba Cloud
];

/**
 * Never a webhook receiver, even with private addresses allowed: link-local (the cloud metadata service's
 * range), the other metadata and platform endpoints above, the same IPv4 addresses reached through NAT64
 * or 6to4 (IPv4-mapped IPv6 is matched by the IPv4 entries themselves), and all of local-use NAT64.
 */
const ALWAYS_BLOCKED = new net.BlockList();
ALWAYS_BLOCKED.addSubnet('fe80::', 10, 'ipv6');
ALWAYS_BLOCKED.addSubnet('64:ff9b:1::', 48, 'ipv6'); // local-use NAT64: any embedding, the addresses above included
for (const [v4, bits] of METADATA_V4) {
  ALWAYS_BLOCKED.addSubnet(v4, bits, 'ipv4');
  const hex = v4.split('.').map((n) => Number(n).toString(16).padStart(2, '0')).join('');
  const embedded = `${hex.slice(0, 4)}:${hex.slice(4)}`;
  ALWAYS_BLOCKED.addSubnet(`64:ff9b::${embedded}`, 96 + bits, 'ipv6'); // NAT64 (RFC 6052)
  ALWAYS_BLOCKED.addSubnet(`2002:${embedded}::`, 16 + bits, 'ipv6'); // 6to4
}
for (const [v6, bits] of METADATA_V6) ALWAYS_BLOCKED.addSubnet(v6, bits, 'ipv6');

/** True for link-local and cloud metadata addresses, refused whatever WAJAH_WEBHOOK_ALLOW_PRIVATE says. */
export function isMetadataAddress(address: string): boolean {
  return inList(ALWAYS_BLOCKED, address);
}

/** Whether a receiver at `address` is refused: link-local and metadata always, every private range unless allowed. */
export function isRefusedAddress(address: string, allowPrivate: boolean): boolean {
  return isMetadataAddress(address) || (!allowPrivate && isPrivateAddress(address));
}

/** True for addresses a public webhook must not reach (IPv4-mapped IPv6 is checked as IPv4). */
export function isPrivateAddress(address: string): boolean {
  return inList(BLOCKED, address);
}

function inList(list: net.BlockList, address: string): boolean {
  const family = net.isIP(address);
  if (family === 0) return false;
  return list.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Checks a webhook URL when it is saved: absolute http(s), no credentials, no fragment games; with
 * allowPrivate=false the host must not be or resolve to a private address (names that do not resolve
 * yet are accepted: the connection-time check still applies).
 */
export async function checkWebhookUrl(raw: string, allowPrivate: boolean): Promise<string> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw appError('INVALID_WEBHOOK_URL', 'url must be an absolute http:// or https:// URL', { field: 'url' });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw appError('INVALID_WEBHOOK_URL', `url must use http or https (got ${url.protocol.replace(':', '')})`, { field: 'url' });
  }
  if (url.username || url.password) {
    throw appError('INVALID_WEBHOOK_URL', 'url must not carry credentials: authenticate deliveries with the X-Signature header', { field: 'url' });
  }
  if (!url.hostname) throw appError('INVALID_WEBHOOK_URL', 'url has no host', { field: 'url' });
  const host = bareHost(url.hostname);
  const addresses = net.isIP(host) ? [host] : await resolveAll(host);
  if (addresses.some(isMetadataAddress)) {
    throw appError('INVALID_WEBHOOK_URL', 'url points at a link-local or cloud metadata address, which is never a webhook receiver', { field: 'url' });
  }
  if (!allowPrivate) {
    if (host === 'localhost' || host.endsWith('.localhost') || addresses.some(isPrivateAddress)) {
      throw appError('INVALID_WEBHOOK_URL', 'url points at a private or loopback address, which this server does not allow (WAJAH_WEBHOOK_ALLOW_PRIVATE=0)', { field: 'url' });
    }
  }
  return url.toString();
}

/** URL hostnames keep the brackets of IPv6 literals. */
export function bareHost(hostname: string): string {
  return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

async function resolveAll(host: string): Promise<string[]> {
  try {
    return (await dns.promises.lookup(host, { all: true })).map((a) => a.address);
  } catch {
    return [];
  }
}

/**
 * A `lookup` for http.request that refuses the addresses `isRefusedAddress` refuses, checked on what
 * the socket will connect to (no check-then-connect gap).
 */
export const guardedLookup = (allowPrivate: boolean): net.LookupFunction => (hostname, options, callback) => {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, '', 0);
    const list = addresses as dns.LookupAddress[];
    const bad = list.find((a) => isRefusedAddress(a.address, allowPrivate));
    if (bad) {
      const why = isMetadataAddress(bad.address) ? 'link-local or cloud metadata address' : 'private address';
      const e = Object.assign(new Error(`${hostname} resolves to the ${why} ${bad.address}${isMetadataAddress(bad.address) ? '' : ' (WAJAH_WEBHOOK_ALLOW_PRIVATE=0)'}`), { code: 'EPRIVATEADDR' });
      return callback(e, '', 0);
    }
    if ((options as dns.LookupOptions).all) return (callback as unknown as (e: null, a: dns.LookupAddress[]) => void)(null, list);
    const first = list[0];
    if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
    callback(null, first.address, first.family);
  });
};
