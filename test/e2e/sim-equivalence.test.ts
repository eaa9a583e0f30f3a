// The simulator's figures are figures of the daemon's code only if the two run the same wiring. Here
// the same members (same keys), the same parameters, the same random sources and the same clock (a
// virtual one, 7 ms each way on every link) run twice: once as simulated nodes (test/sim) and once as
// real OverlayNodes over the in-memory network, with sessions, sealing, the control channel and the
// data plane in between. Every probe (with its id) and every routing message each node sends, and
// when, must be the same sequence in both. A bounded neighbour set with fast exploration makes the
// trial bit of probe ids matter: a daemon that dropped the id on the way to the prober would probe
// its explorers back, which the simulator's nodes do not.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { NodeId } from '../../src/identity/node-id.js';
import type { SessionTable } from '../../src/session/session-table.js';
import { K } from '../unit/session-fixtures.js';
import { NO_RETURN_BIT } from '../../src/probe/outstanding-probes.js';
import { simNodeKeys, simNodeRandom, type SimNode } from '../sim/sim-node.js';
import { Simulator } from '../sim/simulator.js';
import { Cluster } from './cluster.js';

const N = 5;
const SEED = 7;
const LATENCY_MS = 7;
const RUN_MS = 40_000;
const WALL_EPOCH_MS = 1_700_000_000_000;
const PROBE = { maxProbedMembers: 2, exploreIntervalMs: 2000, exploreTrialMs: 1500 };
// No housekeeping beat (control-plane.ts) on either side: with it, nodes' timer work lands on shared
// instants, and what the two event queues then do first among equal times is their own order.
const BEAT_MS = 0;

interface Sent {
  at: number;
  from: number;
  to: number;
  what: string;
}

function describe(kind: 'probe' | 'control', payload: number | Uint8Array): string {
  return kind === 'probe'
    ? `probe ${(payload as number).toString(16)}`
    : `control ${Buffer.from(payload as Uint8Array).toString('hex')}`;
}

/** The simulator with its carrier recorded: what each node's control plane hands it to send. */
class RecordingSimulator extends Simulator {
  readonly sent: Sent[] = [];

  override sendProbe(from: SimNode, member: NodeId, key: string, probeId: number): void {
    this.sent.push({
      at: this.now(),
      from: from.index,
      to: this.indexOf(member) as number,
      what: describe('probe', probeId),
    });
    super.sendProbe(from, member, key, probeId);
  }

  override sendControl(from: SimNode, neighbor: NodeId, message: Uint8Array): void {
    this.sent.push({
      at: this.now(),
      from: from.index,
      to: this.indexOf(neighbor) as number,
      what: describe('control', message),
    });
    super.sendControl(from, neighbor, message);
  }
}

function simulated(): Sent[] {
  const sim = new RecordingSimulator({
    nodes: N,
    seed: SEED,
    startSpreadMs: 0,
    underlay: {
      minLatencyMs: LATENCY_MS,
      maxLatencyMs: LATENCY_MS,
      jitterRatio: 0,
      blockedFraction: 0,
      lossyFraction: 0,
    },
    probe: PROBE,
    beatMs: BEAT_MS,
  });
  sim.start();
  sim.run(RUN_MS);
  return sim.sent;
}

/** A Noise IK exchange straight through both session tables, confirmed on both sides. */
function establish(a: SessionTable, aId: NodeId, b: SessionTable, bId: NodeId): void {
  const init = a.createInitiation(bId, 0);
  const res = b.consumeInitiation(aId, init, K, 0);
  assert.ok(res.ok, 'initiation accepted');
  assert.ok(a.consumeResponse(bId, res.response, K, 0).ok, 'response accepted');
  const kp = b.receiveKeypair(res.response.readUInt32BE(0));
  assert.ok(kp, "the responder's keypair");
  b.confirmReceived(aId, kp.keypair);
}

async function daemons(): Promise<Sent[]> {
  const names = Array.from({ length: N }, (_, i) => `n${i}`);
  const c = await Cluster.create(names, {
    keys: names.map((_, i) => simNodeKeys(i, SEED)),
    virtual: { latencyMs: LATENCY_MS },
    inputs: (i) => ({
      random: simNodeRandom(i, 1),
      wallClock: () => WALL_EPOCH_MS + (c.queue?.now ?? 0),
      probeParams: PROBE,
      beatMs: BEAT_MS,
      // Punching is the carrier's (nat/), not the shared control plane's, and the simulator models no
      // NATs; here every pair has a session from the start, so with it on a node would punch towards
      // the members outside its bounded neighbour set, which the simulator never does.
      natParams: { punch: { attemptsPerSecond: 0 } },
    }),
  });
  const sent: Sent[] = [];
  try {
    const nodes = names.map((n) => c.get(n).node);
    const indexOf = (id: NodeId): number => nodes.findIndex((n) => n.self.id === id);
    // The simulator has no sessions (every probe can be sent): give the daemons theirs up front, so
    // both start from the same state. Nothing has run yet: the cluster is on virtual time.
    for (let i = 0; i < N; i++)
      for (let j = i + 1; j < N; j++)
        establish(nodes[i].sessions, nodes[i].self.id, nodes[j].sessions, nodes[j].self.id);
    // Record at the carrier's entry points (forward/control-channel), as the simulator's are above.
    for (const [i, node] of nodes.entries()) {
      const control = node.dataPlane.control;
      const sendProbe = control.sendProbe.bind(control);
      const sendControl = control.sendControl.bind(control);
      control.sendProbe = (member, key, probeId) => {
        const ok = sendProbe(member, key, probeId);
        if (ok)
          sent.push({
            at: c.queue?.now ?? NaN,
            from: i,
            to: indexOf(member),
            what: describe('probe', probeId),
          });
        return ok;
      };
      control.sendControl = (neighbor, message) => {
        sent.push({
          at: c.queue?.now ?? NaN,
          from: i,
          to: indexOf(neighbor),
          what: describe('control', message),
        });
        sendControl(neighbor, message);
      };
    }
    await c.run(RUN_MS);
  } finally {
    await c.close();
  }
  return sent;
}

test('the simulator and in-process daemons send the same probes and routing messages at the same times', async () => {
  const sim = simulated();
  const live = await daemons();
  const trials = sim.filter(
    (s) => s.what.startsWith('probe') && (parseInt(s.what.slice(6), 16) & NO_RETURN_BIT) !== 0,
  );
  const adverts = sim.filter((s) => s.what.startsWith('control 01'));
  assert.ok(trials.length > 0, 'exploration trials ran (their ids carry the trial bit)');
  assert.ok(adverts.length >= N, 'every node advertised');
  // Idle links back off to 8 s between probes (probe-params.ts), so 40 s make ~330 messages, not 1000.
  assert.ok(sim.length > 300, `a busy enough run (${sim.length} messages)`);
  const firstDiff = sim.findIndex((s, k) => JSON.stringify(s) !== JSON.stringify(live[k]));
  assert.equal(
    firstDiff,
    -1,
    `first difference at message ${firstDiff}: simulator ${JSON.stringify(sim[firstDiff])}, daemon ${JSON.stringify(live[firstDiff])}`,
  );
  assert.equal(live.length, sim.length);
});
