import { BlockList, isIP } from 'node:net';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/**
 * This machine, where the stand-ins run: localhost, 127.0.0.0/8 and ::1,
 * bracketed as URL.hostname spells it or not, IPv4-mapped too. Plain http is allowed there, a
 * proxy never used, and the CLI knows the stand-in's sample aliases.
 */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '')
    .toLowerCase();
  // Not *.localhost: a resolver that sends such names to DNS could put a key in clear on the wire.
  if (host === 'localhost') return true;
  const family = isIP(host);
  if (family === 4) return LOOPBACK.check(host, 'ipv4');
  if (family === 6) return LOOPBACK.check(host, 'ipv6');
  return false;
}

/** True for a URL on this machine; false for anything else, unparsable or absent included. */
export function isLoopbackUrl(url: string | undefined): boolean {
  return url !== undefined && URL.canParse(url) && isLoopbackHost(new URL(url).hostname);
}
