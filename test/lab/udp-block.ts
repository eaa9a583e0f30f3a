// Drops UDP (not TCP) in the wan, as a network that blocks UDP does: to and from one site, or only
// between two sites. Its own nft table, so the lab's cut/loss rules and counters are untouched;
// unblock() deletes the table.
import { writeFileSync } from 'node:fs';
import type { Lab } from './lab.js';

export async function blockUdp(lab: Lab, site: string, peer?: string): Promise<{ unblock(): Promise<void> }> {
  const table = `udpblock_${site}${peer ? `_${peer}` : ''}`;
  const rules = [
    `add table inet ${table}`,
    `add chain inet ${table} c { type filter hook forward priority -10; }`,
  ];
  for (const family of [4, 6] as const) {
    const ip = family === 4 ? 'ip' : 'ip6';
    const a = family === 4 ? lab.addressOf(site, 4) : lab.site(site).underlay6;
    const b =
      peer === undefined ? undefined : family === 4 ? lab.addressOf(peer, 4) : lab.site(peer).underlay6;
    if (!a || (peer !== undefined && !b)) continue;
    const other = (dir: 'saddr' | 'daddr'): string => (b ? `${ip} ${dir} ${b} ` : '');
    rules.push(`add rule inet ${table} c ${ip} saddr ${a} ${other('daddr')}meta l4proto udp counter drop`);
    rules.push(`add rule inet ${table} c ${ip} daddr ${a} ${other('saddr')}meta l4proto udp counter drop`);
  }
  const file = lab.path(`${table}.nft`);
  writeFileSync(file, rules.join('\n') + '\n');
  await nft(lab, ['-f', file]);
  return { unblock: () => nft(lab, ['delete', 'table', 'inet', table]) };
}

async function nft(lab: Lab, args: string[]): Promise<void> {
  const r = await lab.execWan(['nft', ...args]);
  if (r.code !== 0) throw new Error(`nft ${args.join(' ')}: ${r.stderr}`);
}
