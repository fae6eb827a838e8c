import { isIP } from 'node:net';

/**
 * SSRF policy: webhook URLs are tenant input, so the address a delivery connects to must not be
 * this host, the cluster's private network or a cloud metadata service. The check runs on the
 * resolved address that the request then connects to (pinned), so a DNS answer that changes
 * between check and connect (rebinding) cannot slip through. Operators may allow networks
 * (`webhooks.allowNetworks`), e.g. an internal receiver.
 */
interface Cidr {
  v6: boolean;
  bits: bigint;
  prefix: number;
}

function toBig(ip: string): { v6: boolean; bits: bigint } | undefined {
  const kind = isIP(ip);
  if (kind === 4) {
    const parts = ip.split('.').map(Number);
    return { v6: false, bits: parts.reduce((a, p) => (a << 8n) | BigInt(p), 0n) };
  }
  if (kind !== 6) return undefined;
  let text = ip.toLowerCase();
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  // Embedded IPv4 (::ffff:1.2.3.4): turn the tail into two hextets.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = toBig(v4[1])!.bits;
    text = text.slice(0, -v4[1].length) + `${(b >> 16n).toString(16)}:${(b & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return { v6: true, bits: groups.reduce((a, g) => (a << 16n) | BigInt(parseInt(g || '0', 16)), 0n) };
}

export function parseCidr(text: string): Cidr {
  const [ip, len] = text.split('/');
  const parsed = toBig(ip);
  if (!parsed) throw new Error(`not an IP address or CIDR: ${text}`);
  const max = parsed.v6 ? 128 : 32;
  const prefix = len === undefined ? max : Number(len);
  if (!(prefix >= 0 && prefix <= max)) throw new Error(`bad prefix length: ${text}`);
  return { ...parsed, prefix };
}

function contains(c: Cidr, addr: { v6: boolean; bits: bigint }): boolean {
  if (c.v6 !== addr.v6) return false;
  const width = c.v6 ? 128n : 32n;
  const shift = width - BigInt(c.prefix);
  return c.bits >> shift === addr.bits >> shift;
}

/** Refused unless allow-listed: loopback, RFC 1918, CGNAT, link-local (metadata), ULA, and kin. */
const BLOCKED = [
  '0.0.0.0/8', // "this network"
  '10.0.0.0/8',
  '100.64.0.0/10', // CGNAT
  '127.0.0.0/8',
  '169.254.0.0/16', // link-local, incl. 169.254.169.254 metadata
  '172.16.0.0/12',
  '192.0.0.0/24', // IETF protocol assignments (incl. 192.0.0.192 Oracle metadata)
  '192.168.0.0/16',
  '198.18.0.0/15', // benchmarking
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, broadcast
  '::/128',
  '::1/128',
  'fc00::/7', // ULA (incl. fd00:ec2::254 metadata)
  'fe80::/10', // link-local
  'ff00::/8', // multicast
  '64:ff9b::/96', // NAT64 can reach IPv4 private space
].map(parseCidr);

export class AddressPolicy {
  private readonly allowed: Cidr[];

  constructor(allowNetworks: readonly string[]) {
    this.allowed = allowNetworks.map(parseCidr);
  }

  /** undefined when the address may be connected to, else why not. */
  refusal(ip: string): string | undefined {
    let addr = toBig(ip);
    if (!addr) return 'not an IP address';
    // IPv4-mapped IPv6 (::ffff:a.b.c.d) is judged as the IPv4 address it reaches.
    if (addr.v6 && addr.bits >> 32n === 0xffffn) addr = { v6: false, bits: addr.bits & 0xffffffffn };
    if (this.allowed.some((c) => contains(c, addr))) return undefined;
    if (BLOCKED.some((c) => contains(c, addr)))
      return `address ${ip} is private, loopback, link-local or reserved`;
    return undefined;
  }
}
