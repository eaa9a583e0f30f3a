// What a handshake flood does to its victim, read from outside the daemon where possible:
//   nft counters in the victim's namespace: IP packets and bytes from the spoofed range to the overlay
//     port, everything sent back to that range, and how many of those replies were larger than the
//     smallest datagram the flooder sends (the amplification check: must stay 0)
//   /proc/net/snmp of the namespace: UDP datagrams the kernel dropped because the socket was full
//   the daemon's Prometheus metrics: Diffie-Hellman runs, cookie replies, rejections by reason
import type { Lab } from '../../test/lab/lab.js';
import { SPOOF_BITS, SPOOF_NET } from './spoof-flood.js';

const TABLE = 'hsflood';
const METRICS_URL = 'http://127.0.0.1:9477/metrics';

export interface VictimCounters {
  inPackets: number;
  inBytes: number;
  outPackets: number;
  outBytes: number;
  /** Replies to the spoofed range larger (IP length) than the smallest flood datagram. */
  largerThanTrigger: number;
  /** UDP RcvbufErrors: datagrams the kernel dropped because the daemon did not read them in time. */
  rcvbufErrors: number;
  responderDh: number;
  cookieReplies: number;
  rejects: Record<string, number>;
}

/** Counters for traffic between the spoofed range and `port` in `site`; `minTriggerIpBytes` as above. */
export async function installVictimCounters(
  lab: Lab,
  site: string,
  port: number,
  minTriggerIpBytes: number,
): Promise<void> {
  const range = `${SPOOF_NET}/${SPOOF_BITS}`;
  const script = [
    `table ip ${TABLE} {`,
    '  counter from_spoofed { }',
    '  counter to_spoofed { }',
    '  counter larger_than_trigger { }',
    '  chain in {',
    '    type filter hook input priority 0; policy accept;',
    `    ip saddr ${range} udp dport ${port} counter name from_spoofed`,
    '  }',
    '  chain out {',
    '    type filter hook output priority 0; policy accept;',
    `    ip daddr ${range} counter name to_spoofed`,
    `    ip daddr ${range} ip length > ${minTriggerIpBytes} counter name larger_than_trigger`,
    '  }',
    '}',
  ].join('\n');
  const r = await lab.exec(site, ['nft', '-f', '-'], { input: script + '\n' });
  if (r.code !== 0) throw new Error(`nft in ${site}: ${r.stderr}`);
}

export async function readVictimCounters(lab: Lab, site: string): Promise<VictimCounters> {
  const [nft, snmp, metrics] = await Promise.all([
    lab.execOk(site, ['nft', '-j', 'list', 'counters', 'table', 'ip', TABLE]),
    lab.execOk(site, ['cat', '/proc/net/snmp']),
    lab.execOk(site, [
      process.execPath,
      '-e',
      `fetch(${JSON.stringify(METRICS_URL)}).then((r) => r.text()).then((t) => process.stdout.write(t))`,
    ]),
  ]);
  const counters = new Map<string, { packets: number; bytes: number }>();
  for (const item of (JSON.parse(nft) as { nftables: Array<Record<string, unknown>> }).nftables) {
    const c = item.counter as { name: string; packets: number; bytes: number } | undefined;
    if (c) counters.set(c.name, c);
  }
  const get = (name: string): { packets: number; bytes: number } =>
    counters.get(name) ?? { packets: NaN, bytes: NaN };
  return {
    inPackets: get('from_spoofed').packets,
    inBytes: get('from_spoofed').bytes,
    outPackets: get('to_spoofed').packets,
    outBytes: get('to_spoofed').bytes,
    largerThanTrigger: get('larger_than_trigger').packets,
    rcvbufErrors: udpField(snmp, 'RcvbufErrors'),
    responderDh: sample(metrics, 'overlay_handshake_dh_total', 'role', 'responder'),
    cookieReplies: sample(metrics, 'overlay_handshake_cookie_replies_total', 'direction', 'sent'),
    rejects: samples(metrics, 'overlay_handshake_rejected_total', 'reason'),
  };
}

/** b − a, field by field (rejects too). */
export function counterDelta(a: VictimCounters, b: VictimCounters): VictimCounters {
  const rejects: Record<string, number> = {};
  for (const [k, v] of Object.entries(b.rejects)) rejects[k] = v - (a.rejects[k] ?? 0);
  const d = (k: Exclude<keyof VictimCounters, 'rejects'>): number => b[k] - a[k];
  return {
    inPackets: d('inPackets'),
    inBytes: d('inBytes'),
    outPackets: d('outPackets'),
    outBytes: d('outBytes'),
    largerThanTrigger: d('largerThanTrigger'),
    rcvbufErrors: d('rcvbufErrors'),
    responderDh: d('responderDh'),
    cookieReplies: d('cookieReplies'),
    rejects,
  };
}

/** A field of the "Udp:" lines of /proc/net/snmp (a header line, then a values line). */
function udpField(snmp: string, field: string): number {
  const lines = snmp.split('\n').filter((l) => l.startsWith('Udp:'));
  const names = lines[0]?.split(/\s+/) ?? [];
  const values = lines[1]?.split(/\s+/) ?? [];
  const i = names.indexOf(field);
  return i < 0 ? NaN : Number(values[i]);
}

/** Every sample of a metric, by the value of one label. */
function samples(text: string, name: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  const re = new RegExp(`^${name}\\{([^}]*)\\} (\\S+)$`, 'gm');
  for (const [, labels, value] of text.matchAll(re)) {
    const m = new RegExp(`${label}="([^"]*)"`).exec(labels ?? '');
    if (m?.[1] !== undefined) out[m[1]] = Number(value);
  }
  return out;
}

function sample(text: string, name: string, label: string, value: string): number {
  return samples(text, name, label)[value] ?? NaN;
}
