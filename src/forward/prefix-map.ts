// Longest-prefix match over IPv4 and IPv6 prefixes, keyed the way the packet path reads addresses
// (ip-packet.ts: IPv4 as a u32, IPv6 as a 16-char latin1 string). One hash map per prefix length in
// use, tried from the longest: a lookup costs one probe per distinct length present (a handful in
// practice, at most 33 or 129), whatever the number of prefixes. That is the classic software-router
// structure before tries: simple, and allocation-free for IPv4.
/** The network of a u32 address at `length` bits, as an unsigned number. */
export function ipv4Network(addr: number, length: number): number {
  return length === 0 ? 0 : (addr & ((0xffffffff << (32 - length)) >>> 0)) >>> 0;
}

/** The network of a 16-char IPv6 key at `length` bits, as a key of ceil(length / 8) chars. */
export function ipv6Network(key: string, length: number): string {
  const whole = length >> 3;
  const rest = length & 7;
  if (rest === 0) return key.slice(0, whole);
  const mask = (0xff << (8 - rest)) & 0xff;
  return key.slice(0, whole) + String.fromCharCode(key.charCodeAt(whole) & mask);
}

interface Family<K> {
  /** length → network → value. */
  byLength: Map<number, Map<K, unknown>>;
  /** The lengths in byLength, longest first. */
  lengths: number[];
}

export class PrefixMap<T> {
  private readonly v4: Family<number> = { byLength: new Map(), lengths: [] };
  private readonly v6: Family<string> = { byLength: new Map(), lengths: [] };

  /** Adds or replaces the value for `net`/`length`; `net`'s host bits are ignored. */
  setIpv4(net: number, length: number, value: T): void {
    checkLength(length, 32);
    put(this.v4, length, ipv4Network(net, length), value);
  }

  setIpv6(netKey: string, length: number, value: T): void {
    checkLength(length, 128);
    put(this.v6, length, ipv6Network(netKey, length), value);
  }

  /** The value of the longest prefix containing `addr`. */
  getIpv4(addr: number): T | undefined {
    const { byLength, lengths } = this.v4;
    for (let i = 0; i < lengths.length; i++) {
      const len = lengths[i];
      const hit = byLength.get(len)!.get(ipv4Network(addr, len));
      if (hit !== undefined) return hit as T;
    }
    return undefined;
  }

  getIpv6(key: string): T | undefined {
    const { byLength, lengths } = this.v6;
    for (let i = 0; i < lengths.length; i++) {
      const len = lengths[i];
      const hit = byLength.get(len)!.get(ipv6Network(key, len));
      if (hit !== undefined) return hit as T;
    }
    return undefined;
  }

  clear(): void {
    for (const f of [this.v4, this.v6] as Array<Family<unknown>>) {
      f.byLength.clear();
      f.lengths.length = 0;
    }
  }

  /** Every prefix with its value: IPv4 networks as u32, IPv6 as keys of ceil(length / 8) chars. */
  entries(): Array<{ family: 4 | 6; net: number | string; length: number; value: T }> {
    const out: Array<{ family: 4 | 6; net: number | string; length: number; value: T }> = [];
    for (const [family, f] of [
      [4, this.v4],
      [6, this.v6],
    ] as Array<[4 | 6, Family<number | string>]>) {
      for (const length of f.lengths) {
        for (const [net, value] of f.byLength.get(length)!)
          out.push({ family, net, length, value: value as T });
      }
    }
    return out;
  }
}

function put<K>(f: Family<K>, length: number, net: K, value: unknown): void {
  let m = f.byLength.get(length);
  if (m === undefined) {
    m = new Map();
    f.byLength.set(length, m);
    f.lengths.push(length);
    f.lengths.sort((a, b) => b - a);
  }
  m.set(net, value);
}

function checkLength(length: number, bits: number): void {
  if (!Number.isInteger(length) || length < 0 || length > bits) {
    throw new RangeError(`prefix length ${length} out of range 0..${bits}`);
  }
}
