// The lab's latency emulator (this kernel has no `tc netem`). Runs inside the wan namespace:
//
//   node dist/test/lab/delay-emulator.js [--tun emu0] [--mtu 1500] [--max-queue 10000]
//
// Flow of a packet a→b on a delayed pair:
//   1. The wan's policy rules (`iif v-a from <a> to <b> lookup 100`, set up by the Lab) route it into the
//      TUN instead of out of v-b; nft judged it (cut, loss) on the way.
//   2. We classify it by its addresses (10.200.<i>.x, fd00:200:<i>::/64 → site i), copy it out of the
//      reused batch buffer and hold it in the pair's FIFO queue (delay-line.ts).
//   3. One timer, armed for the earliest deadline, writes due packets back to the TUN. The kernel sees them
//      arrive on emu0 (no policy rule matches that iif) and forwards them out of v-b by the main table.
// Control: JSON lines on stdin (emulator-protocol.ts). Exits on stdin EOF, SIGTERM or SIGINT.
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { openTun } from '../../src/tun/native-tun.js';
import type { TunBatch, TunDevice } from '../../src/tun/tun-device.js';
import { DelayLine } from './delay-line.js';
import { siteIndexOf4, siteIndexOf6, EMULATOR_TUN } from './lab-plan.js';
import type { EmulatorCommand, EmulatorReply, EmulatorStats } from './emulator-protocol.js';

// Deliver packets this close to their deadline in the same timer run: Node's timers have millisecond
// granularity and fire late rather than early, so waiting for the exact time would add ~1 ms per hop.
const EARLY_MS = 0.5;

function argValue(flag: string, fallback: string): string {
  const i = process.argv.indexOf(flag);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1]! : fallback;
}

/** Source and destination site of an IP packet, 0 for an address outside the lab. */
function classify(p: Uint8Array): [number, number] {
  const version = p[0]! >> 4;
  if (version === 4 && p.length >= 20) return [siteIndexOf4(p, 12), siteIndexOf4(p, 16)];
  if (version === 6 && p.length >= 40) return [siteIndexOf6(p, 8), siteIndexOf6(p, 24)];
  return [0, 0];
}

class DelayEmulator {
  private readonly line: DelayLine;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private readonly counts = { received: 0, passed: 0, unclassified: 0, writeFailed: 0, maxTimerLateMs: 0 };
  private readonly deliver = (packet: Buffer): void => this.write(packet, 0, packet.length);
  /** A one-packet write batch, reused. */
  private readonly one = { offsets: new Uint32Array(1), lengths: new Uint32Array(1) };

  constructor(
    private readonly tun: TunDevice,
    maxQueue: number,
  ) {
    this.line = new DelayLine(maxQueue);
  }

  start(): void {
    this.tun.start((batch) => this.onBatch(batch));
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.tun.close();
  }

  command(cmd: EmulatorCommand): EmulatorReply {
    switch (cmd.op) {
      case 'set': {
        const config = { delayMs: Number(cmd.delayMs), jitterMs: Number(cmd.jitterMs ?? 0) };
        this.line.set(siteArg(cmd.a), siteArg(cmd.b), config);
        if (!cmd.oneWay) this.line.set(siteArg(cmd.b), siteArg(cmd.a), config);
        return { ok: true };
      }
      case 'clear':
        this.line.clear(siteArg(cmd.a), siteArg(cmd.b));
        if (!cmd.oneWay) this.line.clear(siteArg(cmd.b), siteArg(cmd.a));
        return { ok: true };
      case 'stats':
        return { ok: true, stats: this.stats() };
      default:
        return { ok: false, error: `unknown op ${JSON.stringify((cmd as { op?: unknown }).op)}` };
    }
  }

  private onBatch(batch: TunBatch): void {
    const now = performance.now();
    for (let i = 0; i < batch.count; i++) {
      const start = i * batch.stride + batch.headroom;
      // Valid only during this callback: DelayLine.hold copies what it keeps.
      const packet = batch.buffer.subarray(start, start + batch.lengths[i]!);
      this.counts.received++;
      const [src, dst] = classify(packet);
      if (src === 0 || dst === 0) {
        this.counts.unclassified++;
        continue;
      }
      if (this.line.hold(src, dst, packet, now) === 'pass') {
        this.counts.passed++;
        this.write(packet, 0, packet.length);
      }
    }
    this.schedule();
  }

  private schedule(): void {
    const next = this.line.nextDeadline();
    if (next === null || next >= this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = next;
    this.timer = setTimeout(() => this.fire(), Math.max(0, next - performance.now() - EARLY_MS));
  }

  private fire(): void {
    const now = performance.now();
    this.counts.maxTimerLateMs = Math.max(this.counts.maxTimerLateMs, now - this.timerAt);
    this.timer = null;
    this.timerAt = Infinity;
    this.line.releaseDue(now + EARLY_MS, this.deliver);
    this.schedule();
  }

  private write(buf: Uint8Array, offset: number, length: number): void {
    this.one.offsets[0] = offset;
    this.one.lengths[0] = length;
    const w = this.tun.writeBatch(buf, this.one.offsets, this.one.lengths, 1);
    if (w.written === 0) this.counts.writeFailed++;
  }

  private stats(): EmulatorStats {
    return { ...this.counts, pairs: this.line.stats() };
  }
}

function siteArg(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 255) {
    throw new RangeError(`site index must be an integer 1..255, got ${JSON.stringify(v)}`);
  }
  return v;
}

function reply(obj: unknown): void {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function main(): void {
  const name = argValue('--tun', EMULATOR_TUN);
  const mtu = Number(argValue('--mtu', '1500'));
  const maxQueue = Number(argValue('--max-queue', '10000'));
  let emulator: DelayEmulator;
  try {
    // No offloads: every packet is held for its own link's delay, one write each.
    emulator = new DelayEmulator(
      openTun({ name, mtu, addresses: [], headroom: 0, batch: 64, offloads: false }),
      maxQueue,
    );
    emulator.start();
  } catch (err) {
    reply({ ready: false, error: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  }
  let stopped = false;
  const shutdown = (): void => {
    if (stopped) return;
    stopped = true;
    emulator.stop();
    process.exit(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (text) => {
    if (text.trim() === '') return;
    try {
      reply(emulator.command(JSON.parse(text) as EmulatorCommand));
    } catch (err) {
      reply({ ok: false, error: err instanceof Error ? err.message : String(err) });
    }
  });
  rl.on('close', shutdown);
  reply({ ready: true, tun: name });
}

main();
