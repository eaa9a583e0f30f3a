// The hostile member of benchmarks/hostile-load.ts: the real daemon code (OverlayNode: handshakes,
// sessions, probes, routing and the data plane over the native UDP transport; a memory TUN, since it
// carries no IP traffic) holding one member's key. It behaves as an honest member until SIGUSR1, then
// sends the mixed hostile control of test/adversary/routing-hostile-craft.ts to the victim over its real
// session, as fast as it can (or at --rate messages per second), for --seconds.
//
//   node dist/benchmarks/lib/hostile-daemon.js --peers FILE --key FILE --victim NAME --seconds S [--rate N]
//
// stdout: one JSON line per second, {"at", "attacking", "messages", "bytes", "neighbor"}: messages
// handed to the data plane so far, sealed control bytes it put on the wire, and whether the victim is
// a routing neighbour (only neighbours are listened to). Exits when the attack is over, or on
// SIGTERM/SIGINT.
import { parseArgs } from 'node:util';
import { readKeyFile } from '../../src/config/key-file.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { OverlayNode } from '../../src/node.js';
import { MemoryTun } from '../../src/tun/memory-tun.js';
import { openUnderlay } from '../../src/transport/open-underlay.js';
import { HostileCraft } from '../../test/adversary/routing-hostile-craft.js';
import { seededRandom } from '../../test/sim/rng.js';
import { sign } from '../../src/identity/keys.js';

/** Rounds crafted and sent between two yields to the event loop (the node's own timers run there). */
const ROUNDS_PER_TURN = 8;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      peers: { type: 'string' },
      key: { type: 'string' },
      victim: { type: 'string' },
      seconds: { type: 'string' },
      rate: { type: 'string', default: '0' },
    },
  });
  const config = loadConfig(String(values.peers));
  const keyPair = readKeyFile(String(values.key));
  const victim = config.peers.find((p) => p.name === values.victim);
  if (!victim) throw new Error(`no member named ${values.victim}`);
  const seconds = Number(values.seconds);
  const rate = Number(values.rate);
  let attackAt = Infinity;
  let until = Infinity;
  const log = createLogger('warn');
  const node = await OverlayNode.start({
    config,
    keyPair,
    interfaceName: 'hostile0',
    controlSocket: null,
    log,
    openTun: (o) => {
      const tun = new MemoryTun({ name: o.name, mtu: o.mtu });
      // Nothing reads what reaches the hostile member's TUN: forget it, or a long run would keep it all.
      setInterval(() => tun.written.splice(0), 1000).unref();
      return tun;
    },
    openTransport: (port) => openUnderlay(port, log.child('udp')),
  });
  const craft = new HostileCraft(node.self.id, (m) => sign(m, keyPair.secretKey));
  const members = config.peers.map((p) => p.id);
  const random = seededRandom(0x5eed);
  let ownSeq = Date.now();
  let messages = 0;
  let stopped = false;

  const report = setInterval(() => {
    const line = {
      at: Date.now(),
      attacking: Date.now() >= attackAt,
      messages,
      bytes: node.counters.controlBytesSent,
      neighbor: node.router.neighbors().includes(victim.id),
    };
    process.stdout.write(JSON.stringify(line) + '\n');
  }, 1000);
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    clearInterval(report);
    await node.stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
  process.once('SIGUSR1', () => {
    attackAt = Date.now();
    until = attackAt + seconds * 1000;
  });

  const turn = (): void => {
    if (stopped) return;
    const now = Date.now();
    if (now >= until) return void stop();
    let throttled = now < attackAt;
    for (let r = 0; r < ROUNDS_PER_TURN && !throttled; r++) {
      throttled = rate > 0 && messages >= ((now - attackAt) / 1000) * rate;
      if (throttled) break;
      for (const m of craft.mixedRound(members, victim.id, now, ++ownSeq, random)) {
        node.dataPlane.control.sendControl(victim.id, m);
        messages++;
      }
    }
    // setImmediate, not a loop: the node's 10 ms tick, probes and handshakes must keep running.
    if (throttled) setTimeout(turn, Math.max(1, Math.min(100, attackAt - now)));
    else setImmediate(turn);
  };
  turn();
}

main().catch((err: unknown) => {
  process.stderr.write(
    `hostile daemon failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
