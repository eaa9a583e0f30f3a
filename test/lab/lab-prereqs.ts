// Whether this machine can run a lab, as a skip reason for node:test (`{ skip: labSkipReason() }`), so a
// netns test is reported as skipped, with the reason, rather than failing for want of root.
import { accessSync, constants, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// dist/test/lab/ → the package root, where node-gyp puts build/.
const ADDON = fileURLToPath(new URL('../../../build/Release/overlayd_tun.node', import.meta.url));

export interface LabNeeds {
  /** The delay emulator needs the native TUN binding. */
  latency?: boolean;
}

/** A human-readable reason the lab cannot run here, or false if it can. */
export function labSkipReason(needs: LabNeeds = {}): string | false {
  if (process.platform !== 'linux') return 'netns lab needs Linux';
  if (process.getuid?.() !== 0) return 'netns lab needs root (network namespaces, nftables, TUN)';
  for (const tool of ['/usr/sbin/ip', '/usr/sbin/nft']) {
    if (!existsSync(tool) && !existsSync(tool.replace('/usr/sbin', '/sbin')))
      return `netns lab needs ${tool}`;
  }
  if (needs.latency) {
    try {
      accessSync('/dev/net/tun', constants.R_OK | constants.W_OK);
    } catch {
      return 'latency emulation needs /dev/net/tun';
    }
    if (!existsSync(ADDON)) return `latency emulation needs the native TUN binding (${ADDON}): npm install`;
  }
  return false;
}
