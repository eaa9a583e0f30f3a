// `npm run demo`: overlayd's main job on a built-in four-site lab on this machine.
//
// Four sites in network namespaces, with emulated one-way latencies. The ISP path london–tokyo is
// "policy-distorted" (120 ms), while london–paris–tokyo costs 5 + 40 ms and london–newyork–tokyo
// 35 + 60 ms. The demo shows the path table each site chose, pings over the overlay, then cuts
// paris–tokyo while a ping runs and shows traffic rerouted through newyork within a fraction of a
// second, then restores it. Everything it creates is removed at the end (also on Ctrl-C).
import { readFileSync } from 'node:fs';
import { table } from '../../src/cli/format.js';
import { labSkipReason } from './lab-prereqs.js';
import { OverlayLab } from './overlay-lab.js';

const SITES = ['london', 'paris', 'newyork', 'tokyo'];
const LATENCY: Array<[string, string, number]> = [
  ['london', 'tokyo', 120],
  ['london', 'paris', 5],
  ['paris', 'tokyo', 40],
  ['london', 'newyork', 35],
  ['newyork', 'tokyo', 60],
  ['paris', 'newyork', 38],
];

const say = (s = ''): boolean => process.stdout.write(s + '\n');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function pathTable(ol: OverlayLab, sites: string[]): Promise<string> {
  const rows: string[][] = [];
  for (const from of sites) {
    const s = await ol.status(from);
    for (const m of s.members) {
      if (m.self) continue;
      rows.push([
        from,
        m.name,
        m.path ? m.path.join(' → ') : 'unreachable',
        m.costMs === null ? '-' : `${m.costMs.toFixed(1)} ms`,
      ]);
    }
  }
  return table(['FROM', 'TO', 'PATH', 'COST'], rows);
}

/** Longest gap between consecutive ping replies (ping -D timestamps), in ms. */
function longestGap(pingOutput: string): number {
  const times = [...pingOutput.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from/gm)].map((m) => Number(m[1]) * 1000);
  let gap = 0;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i] - times[i - 1]);
  return gap;
}

async function main(): Promise<void> {
  const skip = labSkipReason({ latency: true });
  if (skip) {
    say(`demo cannot run here: ${skip}`);
    process.exit(1);
  }
  say('overlayd demo: four sites, measured multi-hop paths, and a reroute around a cut link\n');
  const ol = await OverlayLab.create({ sites: SITES, latency: true, logLevel: 'info' });
  try {
    say('underlay one-way latencies (emulated):');
    for (const [a, b, ms] of LATENCY) {
      await ol.lab.setLatency(a, b, ms);
      say(`  ${a.padEnd(8)} – ${b.padEnd(8)} ${ms} ms`);
    }
    say('\nstarting overlayd in each site (keys from `overlayd keygen`, one shared peers.yaml) ...');
    ol.startAll();
    await ol.waitConverged(30_000);
    await ol.waitPath('london', 'tokyo', ['london', 'paris', 'tokyo'], 30_000);

    say('\npaths each site chose (Dijkstra over measured RTT and loss):\n');
    say(await pathTable(ol, ['london', 'tokyo']));

    const direct = await ol.lab.ping('london', ol.lab.addressOf('tokyo'), { count: 5, intervalS: 0.2 });
    const overlay = await ol.lab.ping('london', ol.addressOf('tokyo'), { count: 5, intervalS: 0.2 });
    say(`\nping london → tokyo, ISP path:     ${direct.rttAvgMs?.toFixed(1)} ms`);
    say(
      `ping london → tokyo, over overlayd: ${overlay.rttAvgMs?.toFixed(1)} ms  (via paris, sealed end to end)`,
    );

    say('\ncutting the paris–tokyo underlay while london pings tokyo every 20 ms ...');
    const ping = ol.lab.spawn(
      'london',
      ['ping', '-D', '-n', '-i', '0.02', '-c', '200', ol.addressOf('tokyo')],
      { name: 'demo-ping' },
    );
    await sleep(1500);
    await ol.lab.cut('paris', 'tokyo');
    await ping.exited;
    const gap = longestGap(readFileSync(ping.stdoutPath, 'utf8'));
    const changes = (await ol.paths('london')).changes.filter((c) => c.destination === 'tokyo').slice(-1);
    say(`  longest gap between replies: ${gap.toFixed(0)} ms`);
    for (const c of changes) {
      say(
        `  london's route change: ${c.from?.join(' → ') ?? 'none'}  ⇒  ${c.to?.join(' → ') ?? 'none'}  (${c.reason})`,
      );
    }
    say('\npaths after the cut:\n');
    say(await pathTable(ol, ['london', 'tokyo']));

    say('\nrestoring paris–tokyo: traffic moves back once the link has proven itself (hysteresis hold) ...');
    await ol.lab.restore('paris', 'tokyo');
    await ol.waitPath('london', 'tokyo', ['london', 'paris', 'tokyo'], 60_000);
    const history = await ol.paths('london');
    say('\nlondon → tokyo path changes during the demo:');
    for (const c of history.changes.filter((x) => x.destination === 'tokyo')) {
      say(
        `  ${c.at.slice(11, 23)}  ${c.from?.join('→') ?? 'none'} ⇒ ${c.to?.join('→') ?? 'none'} (${c.reason})`,
      );
    }
    say('\nwatch it live next time with: overlayd status --watch --socket <site socket>');
  } finally {
    say('\ncleaning up namespaces and daemons ...');
    await ol.destroy();
    say('done.');
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
