// An MTU black hole on the link between two sites: the wan silently drops every packet longer than
// `maxBytes` (IP length) between them, both ways and both families, and drops every ICMP error between
// them too, so nothing tells a sender its packets are too big. Its own nft table (the lab's cut/loss
// rules and counters are untouched); undo() deletes it.
//
// The sites' uplinks get gso_max_segs 1: a UDP GSO send (overlayd batches equal datagrams with
// UDP_SEGMENT) crosses a veth as one 64 kB super-packet, which a length rule in the wan would drop whole
// although every datagram in it is small. On a real wire they are separate packets; this makes the
// kernel cut them before the veth, as a NIC would.
import { writeFileSync } from 'node:fs';
import type { Lab } from './lab.js';

export interface MtuBlackHole {
  /** Packets dropped for their length (both directions). */
  dropped(): Promise<number>;
  undo(): Promise<void>;
}

export async function mtuBlackHole(lab: Lab, a: string, b: string, maxBytes: number): Promise<MtuBlackHole> {
  for (const site of [a, b]) {
    const r = await lab.exec(site, ['ip', 'link', 'set', 'dev', 'eth0', 'gso_max_segs', '1']);
    if (r.code !== 0) throw new Error(`gso_max_segs in ${site}: ${r.stderr}`);
  }
  const table = `mtubh_${a}_${b}`;
  const rules = [
    `add table inet ${table}`,
    `add chain inet ${table} c { type filter hook forward priority -10; }`,
  ];
  for (const family of [4, 6] as const) {
    const ip = family === 4 ? 'ip' : 'ip6';
    const icmp = family === 4 ? 'icmp' : 'ipv6-icmp';
    const x = family === 4 ? lab.addressOf(a, 4) : lab.site(a).underlay6;
    const y = family === 4 ? lab.addressOf(b, 4) : lab.site(b).underlay6;
    if (!x || !y) continue;
    for (const [s, d] of [
      [x, y],
      [y, x],
    ]) {
      rules.push(`add rule inet ${table} c ${ip} saddr ${s} ${ip} daddr ${d} meta l4proto ${icmp} drop`);
      rules.push(
        `add rule inet ${table} c ${ip} saddr ${s} ${ip} daddr ${d} meta length > ${maxBytes} counter drop`,
      );
    }
  }
  const file = lab.path(`${table}.nft`);
  writeFileSync(file, rules.join('\n') + '\n');
  await nft(lab, ['-f', file]);
  return {
    dropped: async () => {
      const r = await lab.execWan(['nft', 'list', 'table', 'inet', table]);
      let n = 0;
      for (const m of r.stdout.matchAll(/counter packets (\d+)/g)) n += Number(m[1]);
      return n;
    },
    undo: () => nft(lab, ['delete', 'table', 'inet', table]),
  };
}

async function nft(lab: Lab, args: string[]): Promise<void> {
  const r = await lab.execWan(['nft', ...args]);
  if (r.code !== 0) throw new Error(`nft ${args.join(' ')}: ${r.stderr}`);
}
