// Builds the lab's namespaces: N sites, each joined by one veth pair to a shared "wan" namespace that routes
// between them. Deleting the namespaces (see cleanup.ts) undoes all of it: veths, addresses, routes, rules
// and nft tables all live inside them.
import { inNs, runChecked } from './netns.js';
import type { LabSite } from './lab-plan.js';

// Sysctls for every namespace. DAD off so IPv6 addresses (link-local ones too) are usable at once instead of
// "tentative" for a second; rp_filter off because the wan routes packets back in from the emulator's TUN and
// daemons route overlay traffic through their own TUN, both of which strict reverse-path checks reject.
const COMMON_SYSCTLS = [
  'net.ipv4.conf.all.rp_filter=0',
  'net.ipv4.conf.default.rp_filter=0',
  'net.ipv6.conf.all.accept_dad=0',
  'net.ipv6.conf.default.accept_dad=0',
  // Static IPv6 addresses survive a link down (setUplink), as IPv4 ones do.
  'net.ipv6.conf.all.keep_addr_on_down=1',
  'net.ipv6.conf.default.keep_addr_on_down=1',
];
const WAN_SYSCTLS = ['net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1'];
// A forwarding wan would otherwise answer a->b->... with ICMP redirects that no test wants to see.
const WAN_NO_REDIRECTS = ['net.ipv4.conf.all.send_redirects=0', 'net.ipv4.conf.default.send_redirects=0'];

async function ipBatch(ns: string | null, lines: string[]): Promise<void> {
  const argv = ns === null ? ['ip', '-batch', '-'] : ['ip', '-n', ns, '-batch', '-'];
  await runChecked(argv, { input: lines.join('\n') + '\n', timeoutMs: 20_000 });
}

async function sysctls(ns: string, settings: string[]): Promise<void> {
  await runChecked(inNs(ns, ['sysctl', '-q', '-w', ...settings]));
}

/**
 * Creates namespace `ns`; `onCreated` is told before anything else can fail, so whoever cleans up after a
 * half-built lab knows it exists.
 */
async function addNamespace(ns: string, onCreated: (ns: string) => void): Promise<void> {
  await runChecked(['ip', 'netns', 'add', ns]);
  onCreated(ns);
  await runChecked(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
}

export async function buildTopology(
  wan: string,
  sites: readonly LabSite[],
  onCreated: (ns: string) => void,
): Promise<void> {
  await addNamespace(wan, onCreated);
  for (const s of sites) await addNamespace(s.ns, onCreated);
  // Sysctls before the veths exist, so the interfaces inherit "default" (accept_dad in particular).
  await sysctls(wan, [...COMMON_SYSCTLS, ...WAN_SYSCTLS, ...WAN_NO_REDIRECTS]);
  await Promise.all(sites.map((s) => sysctls(s.ns, COMMON_SYSCTLS)));

  // Each end is created directly in its namespace, so no name ever exists in the host namespace.
  await ipBatch(
    null,
    sites.map((s) => `link add ${s.wanIf} netns ${wan} type veth peer name eth0 netns ${s.ns}`),
  );

  const wanLines: string[] = [];
  for (const s of sites) {
    wanLines.push(`addr add ${s.gateway4}/24 dev ${s.wanIf}`);
    if (s.gateway6) wanLines.push(`addr add ${s.gateway6}/64 dev ${s.wanIf} nodad`);
    wanLines.push(`link set ${s.wanIf} up`);
  }
  await ipBatch(wan, wanLines);

  await Promise.all(
    sites.map((s) => {
      const lines = [`addr add ${s.underlay4}/24 dev eth0`];
      if (s.underlay6) lines.push(`addr add ${s.underlay6}/64 dev eth0 nodad`);
      lines.push('link set eth0 up', `route add default via ${s.gateway4} dev eth0`);
      if (s.gateway6) lines.push(`route add default via ${s.gateway6} dev eth0`);
      return ipBatch(s.ns, lines);
    }),
  );
}

/** Brings a site's uplink down (routes vanish, sends fail fast) — the other kind of broken path. */
export async function setUplink(site: LabSite, up: boolean): Promise<void> {
  if (!up) {
    await ipBatch(site.ns, ['link set eth0 down']);
    return;
  }
  // Link down flushed the default routes; put them back.
  const lines = ['link set eth0 up', `route replace default via ${site.gateway4} dev eth0`];
  if (site.gateway6) lines.push(`route replace default via ${site.gateway6} dev eth0`);
  await ipBatch(site.ns, lines);
}
