// The whole receive path of an in-process cluster: three real OverlayNodes (test/e2e/cluster.ts) on a
// MemoryNetwork with MemoryTuns, real timers. Seeds: datagrams captured on the wire while the nodes
// handshake, probe, exchange routing messages and carry traffic, direct and relayed (one link cut for
// a while). Each mutant is handed to a node's transport receive (usually the node it was captured
// going to) as if it came from its original sender, another member, or a stranger's endpoint; a
// handshake mutant is re-MACed for its receiver now and then. What a node relays on goes on through
// the network to the next node. Every captured datagram was delivered once already, so nothing may be
// accepted again: before fuzzing, each is replayed unchanged once and must reach no TUN.
// Accepted forgery: anything written to any node's TUN while fuzzing (no honest traffic enters a TUN
// then); anything a node sends in response to a stranger's datagram, or any datagram a stranger's
// endpoint receives. After the run: honest traffic must flow between every pair again.
import type { OverlayNode } from '../../../src/node.js';
import type { MemoryTransport } from '../../../src/transport/memory-transport.js';
import { endpointKey, type Endpoint } from '../../../src/transport/transport.js';
import { INIT_BODY_BYTES, RESPONSE_BODY_BYTES } from '../../../src/session/handshake.js';
import { PacketType } from '../../../src/wire/constants.js';
import { parseRoutedHeader } from '../../../src/wire/routed-header.js';
import { Cluster, sleep, waitFor } from '../../e2e/cluster.js';
import { NON_MEMBER_IDS, STRANGERS } from '../fixtures/members.js';
import { remac } from '../fixtures/sessions.js';
import { routedFields } from '../fixtures/wire.js';
import type { Seed } from '../mutator.js';
import type { FuzzTarget, TargetRun } from '../target.js';
import { OutcomeCounter } from './outcomes.js';

const NAMES = ['a', 'b', 'c'];
/** Captured datagrams kept per (type, route length, size, direction). */
const PER_KIND = 4;
/** Inputs between returns to the event loop, where timers and queued deliveries run. */
const IDLE_EVERY = 100;
const DELIVER_TIMEOUT_MS = 10_000;
const ROUTING_SETTLE_MS = 2500;

interface Captured {
  seed: Seed;
  from: Endpoint;
  to: string;
}

export const clusterTarget: FuzzTarget = {
  name: 'cluster',
  description:
    'captured datagrams, mutated, into the receive path of real nodes on a memory network, from ' +
    'members and strangers; forgery = anything on a TUN, or any reply to a stranger; honest traffic ' +
    'must flow afterwards',
  weight: 12,
  async setup(): Promise<TargetRun> {
    const c = await Cluster.create(NAMES);
    const byHost = new Map(NAMES.map((n) => [c.get(n).host, n]));
    const node = (name: string): OverlayNode => c.get(name).node;
    const transportOf = (name: string): MemoryTransport => node(name).transport as MemoryTransport;
    const strangers = STRANGERS.filter((e) => !e.host.includes(':')).map((e) => c.net.attach(e.host, e.port));
    let reflected = 0;
    for (const s of strangers) s.onBatch((batch) => (reflected += batch.count));
    // A datagram one node relays or answers reaches the next one later, from the network's queue: an
    // exception there is caught at this boundary and counted for the input that set it moving.
    let thrownOnDelivery = 0;
    let routerErrors = 0;
    for (const n of NAMES) {
      const receive = node(n).dataPlane.inbound.onBatch;
      transportOf(n).onBatch((batch) => {
        try {
          receive(batch);
        } catch {
          thrownOnDelivery++;
        }
      });
    }

    const captured = await capture(c);
    const seeds: Captured[] = [];
    const kinds = new Map<string, number>();
    for (const rec of captured) {
      const h = parseRoutedHeader(rec.data, rec.data.length);
      const to = byHost.get(rec.to.host);
      if (typeof h === 'string' || !to) continue;
      const kind = `${h.type}/${h.routeLen}/${rec.data.length}/${rec.from.host}>${to}`;
      if ((kinds.get(kind) ?? 0) >= PER_KIND) continue;
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      const via = h.routeLen > 0 ? ` (${h.routeLen} relay)` : '';
      const label = `${['?', 'init', 'response', 'data'][h.type]} ${byHost.get(rec.from.host)}→${to}${via}, ${rec.data.length} B`;
      seeds.push({ seed: { label, bytes: rec.data, fields: routedFields(rec.data) }, from: rec.from, to });
    }
    const replayWrites = await replayAll(c, seeds, transportOf);

    const outcomes = new OutcomeCounter();
    const tunWrites = (): number => NAMES.reduce((s, n) => s + c.get(n).tun.written.length, 0);
    const drops = (): Map<string, number> => {
      const all = new Map<string, number>();
      for (const n of NAMES) for (const [k, v] of node(n).counters.drops) all.set(k, (all.get(k) ?? 0) + v);
      return all;
    };
    let written = tunWrites();
    let victim = NAMES[0];
    let from: Endpoint = STRANGERS[0];
    let data: Buffer = Buffer.alloc(0);
    let executing = false;
    let sentByVictim = 0;
    let dropsBefore = drops();
    c.net.tamper = (rec) => {
      if (executing && rec.from.host === c.get(victim).host) sentByVictim++;
    };
    const bySeed = new Map(seeds.map((s) => [s.seed, s]));
    return {
      seeds: seeds.map((s) => s.seed),
      dictionary: {
        ids: [...NAMES.map((n) => node(n).self.id), ...NON_MEMBER_IDS],
        u64: [0n, 1n, 8191n, 8192n],
        maxBytes: 1500,
      },
      load(mutant, seed, r) {
        const cap = bySeed.get(seed) as Captured;
        victim = r.chance(0.8) ? cap.to : r.pick(NAMES);
        const p = r.int(10);
        from = p < 7 ? cap.from : p < 8 ? { host: c.get(r.pick(NAMES)).host, port: 7946 } : r.pick(STRANGERS);
        data = mutant.bytes;
        const bodyAt =
          data.length - (data[0] === PacketType.HandshakeInit ? INIT_BODY_BYTES : RESPONSE_BODY_BYTES);
        if (data[0] <= PacketType.HandshakeResponse && bodyAt >= 12 && r.chance(0.3))
          remac(
            data.subarray(bodyAt),
            c.get(victim).keyPair.publicKey,
            data[0] === PacketType.HandshakeInit ? 'init' : 'response',
          );
        sentByVictim = 0;
        dropsBefore = drops();
      },
      execute() {
        executing = true;
        try {
          transportOf(victim).receive(data, from);
        } finally {
          executing = false;
        }
      },
      judge() {
        const d = drops();
        let outcome = 'no drop counted';
        for (const [k, v] of d) if (v > (dropsBefore.get(k) ?? 0)) outcome = k;
        outcomes.add(outcome);
        const now = tunWrites();
        const gained = now - written;
        written = now;
        if (gained > 0)
          return `${gained} packet(s) reached a TUN (this input, or what an earlier one set moving)`;
        if (STRANGERS.includes(from) && sentByVictim > 0)
          return `${victim} sent ${sentByVictim} datagram(s) in response to a stranger (${endpointKey(from)})`;
        return undefined;
      },
      describe: () => `to ${victim} from ${endpointKey(from)}`,
      // The routers' counters are read at each idle: a stats() snapshot per input costs more than it.
      caughtInternally: () => thrownOnDelivery + routerErrors,
      outcomes: () => outcomes.counts,
      idleEvery: IDLE_EVERY,
      async idle() {
        routerErrors = NAMES.reduce(
          (s, n) => s + (node(n).router.stats().rejected['internal-error'] ?? 0),
          0,
        );
        await sleep(1);
      },
      async finish() {
        const failures: string[] = [];
        if (replayWrites > 0) failures.push(`${replayWrites} replayed captured datagram(s) reached a TUN`);
        await sleep(200);
        const late = tunWrites() - written;
        if (late > 0) failures.push(`${late} packet(s) reached a TUN after the last input`);
        if (reflected > 0) failures.push(`strangers’ endpoints received ${reflected} datagram(s)`);
        c.net.tamper = undefined;
        for (const x of NAMES)
          for (const y of NAMES) {
            if (x === y) continue;
            try {
              await c.deliver(x, y, Buffer.from(`honest ${x}→${y} after fuzzing`), DELIVER_TIMEOUT_MS);
            } catch (err) {
              failures.push((err as Error).message);
            }
          }
        return failures;
      },
      async close() {
        c.net.tamper = undefined;
        for (const s of strangers) await s.close();
        await c.close();
      },
    };
  },
};

/** Records the wire while the nodes come up, carry traffic both ways, and relay around a cut link. */
async function capture(c: Cluster): Promise<Array<{ from: Endpoint; to: Endpoint; data: Buffer }>> {
  c.net.record = true;
  for (const x of NAMES)
    for (const y of NAMES) if (x !== y) await c.deliver(x, y, Buffer.from(`warm ${x}→${y}`));
  // Adverts, summaries and announcements follow within a few seconds of the links coming up.
  await sleep(ROUTING_SETTLE_MS);
  const [a, , cc] = NAMES.map((n) => c.get(n));
  c.net.cut(a.host, cc.host);
  await waitFor(() => a.node.router.route(cc.node.self.id)?.nodes.length === 3, DELIVER_TIMEOUT_MS, 'a→b→c');
  await c.deliver('a', 'c', Buffer.from('relayed a→c'));
  await c.deliver('c', 'a', Buffer.from('relayed c→a'));
  c.net.restore(a.host, cc.host);
  await sleep(500);
  c.net.record = false;
  const wire = c.net.wire.splice(0);
  for (const n of NAMES) c.get(n).tun.written.length = 0;
  return wire;
}

/** Replays every captured datagram unchanged to where it went; returns how many reached a TUN. */
async function replayAll(
  c: Cluster,
  seeds: readonly Captured[],
  transportOf: (n: string) => MemoryTransport,
): Promise<number> {
  const before = NAMES.reduce((s, n) => s + c.get(n).tun.written.length, 0);
  for (const s of seeds) transportOf(s.to).receive(Buffer.from(s.seed.bytes), s.from);
  await sleep(200);
  return NAMES.reduce((s, n) => s + c.get(n).tun.written.length, 0) - before;
}
