/**
 * IP allow/deny lists (CIDR ranges, IPv4 and IPv6) on node's BlockList.
 * Addresses are compared in one form: an IPv4-mapped IPv6 address
 * (::ffff:10.0.0.1, what a dual-stack listener reports for IPv4 peers) is
 * the IPv4 address, so `10.0.0.0/8` matches it.
 */
import { BlockList, isIP } from 'node:net';

export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

const MAPPED_V4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/** `10.0.0.0/8`, `::1`, `2001:db8::/32`, `127.0.0.1`; null when it is none of these. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const address = normalizeAddress(slash < 0 ? text.trim() : text.slice(0, slash).trim());
  const version = isIP(address);
  if (version === 0) return null;
  const max = version === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const digits = text.slice(slash + 1).trim();
    if (!/^\d{1,3}$/.test(digits)) return null;
    prefix = Number(digits);
    if (prefix > max) return null;
  }
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** The one form addresses are compared and counted in (IPv4-mapped → IPv4, zone ids dropped). */
export function normalizeAddress(address: string): string {
  const unzoned = address.replace(/%.*$/, '');
  const mapped = MAPPED_V4.exec(unzoned);
  return mapped?.[1] ?? unzoned.toLowerCase();
}

/** A set of CIDR ranges. */
export class AddressSet {
  private readonly list = new BlockList();
  readonly size: number;

  constructor(ranges: readonly string[]) {
    let size = 0;
    for (const range of ranges) {
      const cidr = parseCidr(range);
      // The schema rejected anything unparsable; a stray one matches nothing.
      if (!cidr) continue;
      this.list.addSubnet(cidr.address, cidr.prefix, cidr.family);
      size++;
    }
    this.size = size;
  }

  has(address: string): boolean {
    const normal = normalizeAddress(address);
    const version = isIP(normal);
    if (version === 0) return false;
    return this.list.check(normal, version === 4 ? 'ipv4' : 'ipv6');
  }
}

/** allow and deny together: deny wins over allow; an empty allow list lets everyone in. */
export class IpRules {
  private readonly allow: AddressSet;
  private readonly deny: AddressSet;

  constructor(allow: readonly string[], deny: readonly string[]) {
    this.allow = new AddressSet(allow);
    this.deny = new AddressSet(deny);
  }

  permits(address: string): boolean {
    if (this.deny.has(address)) return false;
    return this.allow.size === 0 || this.allow.has(address);
  }
}
