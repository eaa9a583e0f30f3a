import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import { MemoryTun } from '../../src/tun/memory-tun.js';
import type { TunBatch } from '../../src/tun/tun-device.js';

function packetsOf(batch: TunBatch): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < batch.count; i++) {
    const start = i * batch.stride + batch.headroom;
    out.push(Buffer.from(batch.buffer.subarray(start, start + batch.lengths[i])));
  }
  return out;
}

test('injected packets arrive asynchronously, in order, batched up to the batch size', async () => {
  const tun = new MemoryTun({ name: 'mem0', mtu: 1400, batch: 4 });
  const counts: number[] = [];
  const seen: Buffer[] = [];
  tun.start((b) => {
    counts.push(b.count);
    seen.push(...packetsOf(b));
  });
  for (let i = 0; i < 10; i++) tun.inject(Buffer.from([0x45, i, i, i]));
  assert.equal(seen.length, 0, 'delivery must not happen inside inject()');
  await tick();
  assert.deepEqual(counts, [4, 4, 2]);
  assert.deepEqual(
    seen.map((p) => p[1]),
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
  tun.close();
});

test('packets are placed after the headroom at stride-aligned slots', async () => {
  const tun = new MemoryTun({ name: 'mem0', mtu: 100, headroom: 16, batch: 2 });
  let batch: { stride: number; headroom: number; first: number; second: number } | undefined;
  tun.start((b) => {
    batch = { stride: b.stride, headroom: b.headroom, first: b.buffer[16], second: b.buffer[b.stride + 16] };
  });
  tun.inject(Buffer.from([1, 2, 3]));
  tun.inject(Buffer.from([7, 8]));
  await tick();
  assert.ok(batch);
  assert.equal(batch.headroom, 16);
  assert.ok(batch.stride >= 16 + 100);
  assert.equal(batch.first, 1);
  assert.equal(batch.second, 7);
  tun.close();
});

test('packets injected before start() wait for it', async () => {
  const tun = new MemoryTun({ name: 'mem0', mtu: 1400 });
  tun.inject(Buffer.from([0x60, 1]));
  await tick();
  const seen: Buffer[] = [];
  tun.start((b) => seen.push(...packetsOf(b)));
  await tick();
  assert.deepEqual(seen, [Buffer.from([0x60, 1])]);
  tun.close();
});

test('inject copies the packet, so the caller may reuse its buffer at once', async () => {
  const tun = new MemoryTun({ name: 'mem0', mtu: 1400 });
  const seen: Buffer[] = [];
  tun.start((b) => seen.push(...packetsOf(b)));
  const scratch = Buffer.from([1, 1, 1]);
  tun.inject(scratch);
  scratch.fill(9);
  await tick();
  assert.deepEqual(seen, [Buffer.from([1, 1, 1])]);
  tun.close();
});

test('inject rejects a packet larger than the mtu', () => {
  const tun = new MemoryTun({ name: 'mem0', mtu: 10 });
  assert.throws(() => tun.inject(Buffer.alloc(11)), RangeError);
  tun.close();
});

/** writeBatch of one range. */
function writeOne(
  tun: MemoryTun,
  buf: Buffer,
  off: number,
  len: number,
): ReturnType<MemoryTun['writeBatch']> {
  return tun.writeBatch(buf, Uint32Array.of(off), Uint32Array.of(len), 1);
}

test('writeBatch keeps a copy of exactly the given ranges', () => {
  const tun = new MemoryTun({ name: 'mem0', mtu: 1400 });
  const buf = Buffer.from([0, 0, 0x45, 1, 2, 0, 0x60, 7]);
  const w = tun.writeBatch(buf, Uint32Array.of(2, 6), Uint32Array.of(3, 2), 2);
  assert.equal(w.written, 2);
  buf.fill(0);
  assert.deepEqual(tun.written, [Buffer.from([0x45, 1, 2]), Buffer.from([0x60, 7])]);
  tun.close();
});

test('a full queue drops the batch and says so; a failing device counts failures by errno', () => {
  const tun = new MemoryTun({ name: 'mem0', mtu: 1400 });
  tun.queueFull = true;
  assert.deepEqual(
    { ...writeOne(tun, Buffer.from([1]), 0, 1) },
    {
      written: 0,
      dropped: 1,
      failed: 0,
      lastError: 'EAGAIN',
    },
  );
  tun.queueFull = false;
  tun.failWith = 'EIO';
  assert.deepEqual(
    { ...writeOne(tun, Buffer.from([1]), 0, 1) },
    {
      written: 0,
      dropped: 0,
      failed: 1,
      lastError: 'EIO',
    },
  );
  assert.equal(tun.written.length, 0);
  tun.close();
});

test('a write outside the buffer throws a RangeError', () => {
  const tun = new MemoryTun({ name: 'mem0', mtu: 1400 });
  assert.throws(() => writeOne(tun, Buffer.alloc(4), 2, 3), RangeError);
  tun.close();
});

test('close inside the batch handler stops delivery of the rest', async () => {
  const tun = new MemoryTun({ name: 'mem0', mtu: 1400, batch: 2 });
  const counts: number[] = [];
  tun.start((b) => {
    counts.push(b.count);
    tun.close();
  });
  for (let i = 0; i < 5; i++) tun.inject(Buffer.from([i]));
  await tick();
  await tick();
  assert.deepEqual(counts, [2]);
});

test('close is idempotent; after it, injects are dropped and writeBatch throws EBADF', async () => {
  const tun = new MemoryTun({ name: 'mem0', mtu: 1400 });
  let batches = 0;
  tun.start(() => batches++);
  tun.close();
  tun.close();
  tun.inject(Buffer.from([1]));
  await tick();
  assert.equal(batches, 0);
  assert.throws(() => writeOne(tun, Buffer.from([1]), 0, 1), { code: 'EBADF' });
});

test('start twice throws', () => {
  const tun = new MemoryTun({ name: 'mem0', mtu: 1400 });
  tun.start(() => {});
  assert.throws(() => tun.start(() => {}), /already started/);
  tun.close();
});
