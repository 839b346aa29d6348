/**
 * The client's address behind reverse proxies. X-Forwarded-For and
 * Forwarded are written by whoever sends the request, so they are believed
 * only from a connection whose peer is a trusted proxy, and only back to the
 * first hop that is not one: `client, proxy1, proxy2` read from the right,
 * skipping trusted proxies, gives the address the last trusted proxy saw.
 */
import { entryOf } from '../config/lookup.js';
import { isIP } from 'node:net';
import { normalizeAddress, type AddressSet } from './ip-lists.js';

export function clientAddress(peer: string, headers: Readonly<Record<string, string>>, trusted: AddressSet): string {
  const direct = normalizeAddress(peer);
  if (trusted.size === 0 || !trusted.has(direct)) return direct;
  const forwarded = entryOf(headers, 'forwarded');
  const hops = forwarded !== undefined ? forwardedFor(forwarded) : forwardedList(entryOf(headers, 'x-forwarded-for'));
  let client = direct;
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops.at(i);
    // A hop that is no address (unknown, obfuscated, garbage) ends what can be believed.
    if (hop === undefined || isIP(hop) === 0) break;
    client = hop;
    if (!trusted.has(hop)) break;
  }
  return client;
}

function forwardedList(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value.split(',').map((part) => stripPort(part.trim()));
}

/** RFC 7239: `for=192.0.2.60;proto=http, for="[2001:db8::1]:4711"`. */
function forwardedFor(value: string): string[] {
  const hops: string[] = [];
  for (const element of value.split(',')) {
    let hop = '';
    for (const pair of element.split(';')) {
      const eq = pair.indexOf('=');
      if (eq < 0 || pair.slice(0, eq).trim().toLowerCase() !== 'for') continue;
      hop = stripPort(pair.slice(eq + 1).trim().replace(/^"|"$/g, ''));
    }
    hops.push(hop);
  }
  return hops;
}

/** `[::1]:80` → `::1`, `1.2.3.4:80` → `1.2.3.4`; a bare IPv6 address is left alone. */
function stripPort(hop: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(hop);
  if (bracketed) return normalizeAddress(bracketed[1]);
  const v4port = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(hop);
  return normalizeAddress(v4port?.[1] ?? hop);
}
