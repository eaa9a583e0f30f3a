// The lab itself, on the real kernel: reachability, each impairment and its undo, the delay emulator's
// accuracy, and teardown — including when the process that built the lab dies. Needs root.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Lab } from '../lab/lab.js';
import { labSkipReason } from '../lab/lab-prereqs.js';
import { listNamespaces, sweepStaleLabs } from '../lab/cleanup.js';
import { DelayLine } from '../lab/delay-line.js';
import { processAlive } from '../lab/proc.js';
import { LAB_ROOT_DIR, randomRunId } from '../lab/lab-plan.js';
import { run } from '../lab/netns.js';

const LAB_JS = fileURLToPath(new URL('../lab/lab.js', import.meta.url));
const skipAll = labSkipReason();
const skipLatency = labSkipReason({ latency: true });

/** Three quick pings; "reachable" means at least one reply came back. */
async function reachable(lab: Lab, from: string, to: string, family: 4 | 6 = 4): Promise<boolean> {
  const r = await lab.ping(from, to, { count: 3, intervalS: 0.05, waitS: 1, family });
  return r.received > 0;
}

describe('Lab with three sites (a, b, c) and the delay emulator', { skip: skipLatency }, () => {
  let lab: Lab;
  before(async () => {
    lab = await Lab.create({ sites: ['a', 'b', 'c'], latency: true });
  });
  after(async () => {
    await lab?.destroy();
  });

  it('gives each site its planned underlay addresses and a wan gateway', () => {
    assert.deepEqual(
      lab.sites().map((s) => [s.name, s.index, s.underlay4, s.underlay6, s.ns]),
      [
        ['a', 1, '10.200.1.2', 'fd00:200:1::2', `${lab.runId}-a`],
        ['b', 2, '10.200.2.2', 'fd00:200:2::2', `${lab.runId}-b`],
        ['c', 3, '10.200.3.2', 'fd00:200:3::2', `${lab.runId}-c`],
      ],
    );
    assert.match(lab.runId, /^ol[0-9a-f]{4}$/);
  });

  it('connects every ordered pair of sites over the underlay, IPv4 and IPv6', async () => {
    const pairs = [
      ['a', 'b'],
      ['a', 'c'],
      ['b', 'a'],
      ['b', 'c'],
      ['c', 'a'],
      ['c', 'b'],
    ] as const;
    const results = await Promise.all(
      pairs.flatMap(([x, y]) =>
        ([4, 6] as const).map(
          async (f) => `${x}->${y} v${f}: ${(await reachable(lab, x, y, f)) ? 'ok' : 'FAIL'}`,
        ),
      ),
    );
    assert.deepEqual(
      results.filter((r) => !r.endsWith('ok')),
      [],
    );
  });

  it('pairTraffic() counts what each ordered pair sent through the wan, and only that pair', async () => {
    const count = async (from: string, to: string): Promise<number> =>
      (await lab.pairTraffic()).find((t) => t.from === from && t.to === to)?.packets ?? -1;
    const [ac0, ca0, ab0] = [await count('a', 'c'), await count('c', 'a'), await count('a', 'b')];
    const r = await lab.ping('a', 'c', { count: 5, intervalS: 0.02 });
    assert.equal(r.received, 5);
    assert.equal((await count('a', 'c')) - ac0, 5);
    assert.equal((await count('c', 'a')) - ca0, 5);
    assert.equal((await count('a', 'b')) - ab0, 0);
  });

  it('cut(a, c) black-holes a<->c in both families while a<->b and b<->c still work; restore heals it', async () => {
    await lab.cut('a', 'c');
    assert.equal(lab.isCut('c', 'a'), true);
    assert.equal(await reachable(lab, 'a', 'c'), false, 'a->c v4 after cut');
    assert.equal(await reachable(lab, 'c', 'a', 6), false, 'c->a v6 after cut');
    assert.equal(await reachable(lab, 'a', 'b'), true, 'a->b after cut');
    assert.equal(await reachable(lab, 'b', 'c', 6), true, 'b->c after cut');
    await lab.restore('a', 'c');
    assert.equal(lab.isCut('a', 'c'), false);
    assert.equal(await reachable(lab, 'a', 'c'), true, 'a->c v4 after restore');
    assert.equal(await reachable(lab, 'a', 'c', 6), true, 'a->c v6 after restore');
  });

  it('setLoss(a, c, 30) loses about 1-(1-0.3)^2 = 51 % of ping round trips, and 0 removes it', async () => {
    await lab.setLoss('a', 'c', 30);
    const r = await lab.ping('a', 'c', { count: 200, intervalS: 0.01, waitS: 1 });
    assert.equal(r.transmitted, 200);
    assert.ok(r.lossPercent >= 25 && r.lossPercent <= 75, `loss ${r.lossPercent} % not in 25–75 %`);
    await lab.setLoss('a', 'c', 0);
    const clean = await lab.ping('a', 'c', { count: 50, intervalS: 0.01, waitS: 1 });
    assert.equal(clean.lossPercent, 0);
  });

  it('setLatency(a, b, 20) makes the a-b RTT about 40 ms (v4 and v6) and leaves a-c alone', async () => {
    await lab.setLatency('a', 'b', 20);
    const v4 = await lab.ping('a', 'b', { count: 20, intervalS: 0.05 });
    const v6 = await lab.ping('b', 'a', { count: 20, intervalS: 0.05, family: 6 });
    const other = await lab.ping('a', 'c', { count: 5, intervalS: 0.05 });
    for (const [what, r] of [
      ['a->b v4', v4],
      ['b->a v6', v6],
    ] as const) {
      assert.equal(r.received, 20, `${what}: lost pings`);
      assert.ok(r.rttAvgMs! >= 38 && r.rttAvgMs! <= 80, `${what}: avg RTT ${r.rttAvgMs} ms not in 38–80`);
    }
    assert.ok(other.rttAvgMs! < 5, `a->c RTT ${other.rttAvgMs} ms: the a-b delay leaked`);
    const stats = await lab.emulatorStats();
    const ab = stats.pairs.find((p) => p.src === 1 && p.dst === 2);
    assert.ok(ab && ab.delivered >= 40, 'the emulator carried the a->b packets');
    assert.equal(stats.writeFailed, 0);
  });

  it('setLatency with jitter varies the RTT around 2x the delay without losing packets', async () => {
    await lab.setLatency('a', 'b', 20, { jitterMs: 5 });
    const r = await lab.ping('a', 'b', { count: 30, intervalS: 0.05 });
    assert.equal(r.received, 30);
    assert.ok(r.rttAvgMs! >= 34 && r.rttAvgMs! <= 80, `avg RTT ${r.rttAvgMs} ms`);
    assert.ok(r.rttMdevMs! > 0.5, `mdev ${r.rttMdevMs} ms: no jitter visible`);
  });

  it('clearLatency(a, b) returns a-b to the direct sub-millisecond path', async () => {
    await lab.clearLatency('a', 'b');
    const r = await lab.ping('a', 'b', { count: 5, intervalS: 0.05 });
    assert.equal(r.received, 5);
    assert.ok(r.rttAvgMs! < 5, `RTT ${r.rttAvgMs} ms after clearLatency`);
  });

  it('partition([[a], [b, c]]) cuts a off from b and c but keeps b-c; heal() restores exactly that', async () => {
    await lab.cut('b', 'c'); // made by hand: heal() must leave it alone
    await lab.partition([['a'], ['b', 'c']]);
    assert.equal(await reachable(lab, 'a', 'b'), false);
    assert.equal(await reachable(lab, 'c', 'a', 6), false);
    await lab.restore('b', 'c');
    assert.equal(await reachable(lab, 'b', 'c'), true, 'b-c inside one group');
    await lab.cut('b', 'c');
    await lab.heal();
    assert.equal(await reachable(lab, 'a', 'b'), true);
    assert.equal(await reachable(lab, 'a', 'c', 6), true);
    assert.equal(lab.isCut('b', 'c'), true, 'heal() restored a cut it did not make');
    await lab.restore('b', 'c');
  });

  it('isolate(b) cuts b from everyone, unisolate(b) brings it back', async () => {
    await lab.isolate('b');
    assert.equal(await reachable(lab, 'a', 'b'), false);
    assert.equal(await reachable(lab, 'c', 'b'), false);
    assert.equal(await reachable(lab, 'a', 'c'), true);
    await lab.unisolate('b');
    assert.equal(await reachable(lab, 'a', 'b'), true);
  });

  it('linkDown(c) makes sends from c fail at once; linkUp(c) restores its routes', async () => {
    await lab.linkDown('c');
    const r = await lab.exec('c', ['ping', '-n', '-c', '1', '-W', '1', lab.addressOf('a')]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr + r.stdout, /unreachable/i);
    await lab.linkUp('c');
    assert.equal(await reachable(lab, 'c', 'a'), true);
    assert.equal(await reachable(lab, 'c', 'a', 6), true);
  });

  it('setRate(a, 20) limits a TCP flow from a to about 20 Mbit/s', async () => {
    await lab.setRate('a', 20);
    const server = lab.spawn('b', ['iperf3', '-s', '-1', '-B', lab.addressOf('b')], {
      name: 'iperf3-server',
    });
    await lab.waitFor(async () => (await lab.exec('b', ['ss', '-Hltn', 'sport = :5201'])).stdout.trim(), {
      timeoutMs: 5000,
      what: 'iperf3 listening',
    });
    const r = await lab.exec('a', ['iperf3', '-c', lab.addressOf('b'), '-t', '2', '-J'], {
      timeoutMs: 20_000,
    });
    await server.exited;
    await lab.clearRate('a');
    const bps = (JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } }).end
      .sum_received.bits_per_second;
    assert.ok(bps > 5e6 && bps < 26e6, `${(bps / 1e6).toFixed(1)} Mbit/s through a 20 Mbit/s limit`);
  });

  it('destroy() stops spawned processes and removes every namespace and the run directory', async () => {
    const sleeper = lab.spawn('b', ['sleep', '600']);
    const emulator = lab.processes().find((p) => p.label === 'delay-emulator');
    assert.ok(emulator && emulator.isAlive());
    assert.ok(sleeper.isAlive());
    await lab.destroy();
    assert.equal(sleeper.isAlive(), false);
    assert.equal(processAlive(emulator.pid!), false);
    const left = (await listNamespaces()).filter((ns) => ns.startsWith(`${lab.runId}-`));
    assert.deepEqual(left, []);
    assert.equal(existsSync(lab.runDir), false);
    await lab.destroy(); // idempotent
    assert.throws(() => lab.spawn('a', ['true']), /destroyed/);
  });
});

// ---------------------------------------------------------------- a process that dies with a lab up

interface ChildLab {
  runId: string;
  namespaces: string[];
  pids: number[];
}

/**
 * Starts a separate Node process that builds a two-site lab, starts `sleep 600` in it, reports what it
 * made, and then does `then`. Returns the report and the process's exit.
 */
async function childLab(
  then: 'throw' | 'reject' | 'wait',
  latency: boolean,
): Promise<{ lab: ChildLab; child: ReturnType<typeof spawn>; exit: Promise<number | string> }> {
  const after = {
    throw: "setTimeout(() => { throw new Error('deliberate crash'); }, 50);",
    reject: "Promise.reject(new Error('deliberate rejection'));",
    wait: 'setInterval(() => {}, 1000);',
  }[then];
  const script = `
    import { Lab } from ${JSON.stringify(LAB_JS)};
    const lab = await Lab.create({ sites: ['x', 'y'], latency: ${latency} });
    lab.spawn('x', ['sleep', '600']);
    console.log(JSON.stringify({ runId: lab.runId, namespaces: lab.namespaces, pids: lab.processes().map((p) => p.pid) }));
    ${after}`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exit = new Promise<number | string>((resolve) =>
    child.on('exit', (code, sig) => resolve(code ?? sig!)),
  );
  const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  void exit.then(() => clearTimeout(killer));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    void exit.then(() => reject(new Error(`child lab exited early: ${stderr}`)));
  });
  return { lab: JSON.parse(line) as ChildLab, child, exit };
}

async function assertGone(lab: ChildLab): Promise<void> {
  const left = (await listNamespaces()).filter((ns) => lab.namespaces.includes(ns));
  assert.deepEqual(left, [], 'namespaces left behind');
  for (const pid of lab.pids) assert.equal(processAlive(pid), false, `process ${pid} left running`);
}

describe('Lab cleanup when the process that built it dies', { skip: skipAll }, () => {
  const runIds: string[] = [];
  after(async () => {
    // If a test failed, its child's leftovers are still on record: sweep them before dropping the records.
    await sweepStaleLabs();
    for (const id of runIds) rmSync(`${LAB_ROOT_DIR}/${id}`, { recursive: true, force: true });
  });

  it('an uncaught exception still removes its namespaces and stops its processes (emulator included)', async () => {
    const { lab, exit } = await childLab('throw', skipLatency === false);
    runIds.push(lab.runId);
    assert.equal(await exit, 1);
    await assertGone(lab);
  });

  it('an unhandled rejection still removes its namespaces and stops its processes', async () => {
    const { lab, exit } = await childLab('reject', false);
    runIds.push(lab.runId);
    assert.equal(await exit, 1);
    await assertGone(lab);
  });

  it('SIGTERM still removes its namespaces, and the process dies of the signal', async () => {
    const { lab, child, exit } = await childLab('wait', false);
    runIds.push(lab.runId);
    child.kill('SIGTERM');
    assert.equal(await exit, 'SIGTERM');
    await assertGone(lab);
  });

  it('after a SIGKILL, sweepStaleLabs() removes that lab and leaves live labs and foreign namespaces alone', async () => {
    const live = await Lab.create({ sites: ['p'], sweep: false });
    const foreign = `${randomRunId()}-zz`; // our name pattern, but no run directory records an owner
    await run(['ip', 'netns', 'add', foreign]);
    try {
      const { lab, child, exit } = await childLab('wait', false);
      runIds.push(lab.runId);
      child.kill('SIGKILL');
      await exit;
      const before = await listNamespaces();
      assert.ok(
        lab.namespaces.every((ns) => before.includes(ns)),
        'SIGKILL leaves namespaces (nothing can run on SIGKILL)',
      );
      const report = await sweepStaleLabs();
      // Other dead labs (from earlier crashed runs) may be swept too; this one must be.
      for (const ns of lab.namespaces) assert.ok(report.namespaces.includes(ns), `${ns} not swept`);
      await assertGone(lab);
      const afterSweep = await listNamespaces();
      assert.ok(afterSweep.includes(foreign), 'swept a namespace it did not own');
      assert.ok(
        live.namespaces.every((ns) => afterSweep.includes(ns)),
        'swept a lab whose owner is alive',
      );
    } finally {
      await run(['ip', 'netns', 'del', foreign]);
      await live.destroy();
    }
  });
});

// ---------------------------------------------------------------- the emulator's queue, without root

describe('DelayLine (the delay emulator core)', () => {
  const pkt = (n: number): Uint8Array => Uint8Array.of(n);

  it('passes packets of pairs without a delay straight through', () => {
    const line = new DelayLine();
    line.set(1, 2, { delayMs: 10, jitterMs: 0 });
    assert.equal(line.hold(2, 1, pkt(1), 0), 'pass');
    assert.equal(line.hold(1, 3, pkt(1), 0), 'pass');
    assert.equal(line.nextDeadline(), null);
  });

  it('holds a copy until now + delay, so the caller may reuse its buffer', () => {
    const line = new DelayLine();
    line.set(1, 2, { delayMs: 10, jitterMs: 0 });
    const buf = Uint8Array.of(7);
    assert.equal(line.hold(1, 2, buf, 100), 'held');
    buf[0] = 99;
    const out: number[] = [];
    assert.equal(
      line.releaseDue(109.9, (p) => out.push(p[0]!)),
      0,
    );
    assert.equal(line.nextDeadline(), 110);
    assert.equal(
      line.releaseDue(110, (p) => out.push(p[0]!)),
      1,
    );
    assert.deepEqual(out, [7]);
  });

  it('keeps each pair in FIFO order under jitter', () => {
    let r = 0;
    const randoms = [0.99, 0.0, 0.5, 0.0, 0.99, 0.1]; // alternately late and early
    const line = new DelayLine(100, () => randoms[r++ % randoms.length]!);
    line.set(1, 2, { delayMs: 20, jitterMs: 10 });
    for (let i = 0; i < 6; i++) line.hold(1, 2, pkt(i), i);
    const out: number[] = [];
    line.releaseDue(1000, (p) => out.push(p[0]!));
    assert.deepEqual(out, [0, 1, 2, 3, 4, 5]);
  });

  it('drops and counts packets beyond the per-pair queue bound', () => {
    const line = new DelayLine(3);
    line.set(1, 2, { delayMs: 5, jitterMs: 0 });
    const results = [0, 1, 2, 3, 4].map((i) => line.hold(1, 2, pkt(i), 0));
    assert.deepEqual(results, ['held', 'held', 'held', 'dropped', 'dropped']);
    assert.equal(line.stats().find((s) => s.src === 1 && s.dst === 2)?.dropped, 2);
  });

  it('after clear, packets still held leave at their time and new ones queue behind them', () => {
    const line = new DelayLine();
    line.set(1, 2, { delayMs: 50, jitterMs: 0 });
    line.hold(1, 2, pkt(1), 0);
    line.clear(1, 2);
    assert.equal(line.hold(1, 2, pkt(2), 10), 'held');
    const out: number[] = [];
    line.releaseDue(49, (p) => out.push(p[0]!));
    assert.equal(out.length, 0, 'released before its time');
    line.releaseDue(50, (p) => out.push(p[0]!));
    assert.deepEqual(out, [1, 2]);
    assert.equal(line.hold(1, 2, pkt(3), 60), 'pass');
  });
});
