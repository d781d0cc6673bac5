import net from 'node:net';
import { appError } from '../errors.ts';

/**
 * IP allow-lists: CIDRs (or single addresses) for IPv4 and IPv6. An empty list allows everyone.
 *
 * @example const allow = new IpAllowlist(); allow.allows('10.1.2.3', ['10.0.0.0/8']) // true
 */
export class IpAllowlist {
  #cache = new Map<string, net.BlockList>();

  allows(ip: string, cidrs: readonly string[]): boolean {
    if (!cidrs.length) return true;
    const addr = normalizeIp(ip);
    const family = net.isIP(addr);
    if (!family) return false;
    return this.#list(cidrs).check(addr, family === 4 ? 'ipv4' : 'ipv6');
  }

  #list(cidrs: readonly string[]): net.BlockList {
    const cacheKey = cidrs.join(',');
    let list = this.#cache.get(cacheKey);
    if (!list) {
      list = new net.BlockList();
      for (const c of cidrs) {
        const parsed = parseCidr(c);
        if (parsed) list.addSubnet(parsed.address, parsed.prefix, parsed.family === 4 ? 'ipv4' : 'ipv6');
      }
      if (this.#cache.size > 1000) this.#cache.clear();
      this.#cache.set(cacheKey, list);
    }
    return list;
  }
}

/** `::ffff:10.0.0.1` (IPv4 seen through an IPv6 socket) → `10.0.0.1`. */
export function normalizeIp(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1]! : ip;
}

export function parseCidr(value: string): { address: string; prefix: number; family: 4 | 6 } | null {
  const [addrRaw, prefixRaw, extra] = value.trim().split('/');
  if (extra !== undefined || !addrRaw) return null;
  const address = normalizeIp(addrRaw);
  const family = net.isIP(address);
  if (family !== 4 && family !== 6) return null;
  const max = family === 4 ? 32 : 128;
  if (prefixRaw === undefined) return { address, prefix: max, family };
  if (!/^\d{1,3}$/.test(prefixRaw)) return null;
  const prefix = Number(prefixRaw);
  if (prefix > max) return null;
  return { address, prefix, family };
}

/** Validates and normalises a list from the admin API; names the bad entry. */
export function validateCidrs(list: readonly string[], field: string): string[] {
  const out: string[] = [];
  list.forEach((value, i) => {
    const parsed = parseCidr(value);
    if (!parsed) {
      throw appError('VALIDATION_ERROR', `${field}[${i}] is not an IP address or CIDR: "${value}"`, { field: `${field}.${i}` });
    }
    out.push(`${parsed.address}/${parsed.prefix}`);
  });
  return [...new Set(out)];
}
