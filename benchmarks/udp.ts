// Micro-benchmark of the UDP underlay on loopback: 1400-byte datagrams for 3 s per row, sender in this
// process, receiver in a child process (each has a core on a 2-core machine and its own CPU accounting).
// Rows: dgram → dgram (today's udp-transport), native → native (sendQueued + flush every 64, recvmmsg
// batches of 64), and the two crossings, which separate the send-side gain from the receive-side one.
//
//   npx tsc -p tsconfig.json && node dist/benchmarks/udp.js [seconds]
//
// Both senders reuse one payload buffer and yield to the event loop (setImmediate) every 64 datagrams, so
// the rows differ only in the transport. Loss is the receiver falling behind (its socket buffer fills).
import { fork, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { silentLogger } from '../src/log.js';
import { NativeUdpTransport } from '../src/transport/native-udp-transport.js';
import { fmt, fmtRatio, printTable } from './lib/table.js';

type Kind = 'dgram' | 'native';
/** How the native sender sends: sendQueued + flush per burst, or send() per datagram (one sendto each). */
type SenderKind = Kind | 'native-send';
const PAYLOAD = 1400;
const BURST = 64;
const BUFFER_BYTES = 4 * 1024 * 1024;
const HOST = '127.0.0.1';
/** A native transport on an ephemeral loopback port, IPv4 only, as receiver and as sender. */
const NATIVE_OPTIONS = { port: 0, host4: HOST, host6: null, bufferBytes: BUFFER_BYTES, log: silentLogger };

interface ReceiverReport {
  received: number;
  cpuMicros: number;
  userMicros: number;
}

type ToReceiver = { cmd: 'start' } | { cmd: 'stop' };
type FromReceiver = { port: number } | ReceiverReport;

// ---- receiver (child process) -------------------------------------------------------------------

async function receiver(kind: Kind): Promise<void> {
  let received = 0;
  let close: () => Promise<void>;
  let port: number;
  if (kind === 'native') {
    const t = await NativeUdpTransport.open(NATIVE_OPTIONS);
    t.onBatch((batch) => {
      received += batch.count;
    });
    port = t.port;
    close = () => t.close();
  } else {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => sock.bind(0, HOST, resolve));
    sock.setRecvBufferSize(BUFFER_BYTES);
    sock.on('message', () => {
      received++;
    });
    port = sock.address().port;
    close = () => new Promise((resolve) => sock.close(() => resolve()));
  }
  let cpu = process.cpuUsage();
  const send = (m: FromReceiver): boolean => process.send?.(m) ?? false;
  process.on('message', (m: ToReceiver) => {
    if (m.cmd === 'start') {
      received = 0;
      cpu = process.cpuUsage();
      return;
    }
    const used = process.cpuUsage(cpu);
    send({ received, cpuMicros: used.user + used.system, userMicros: used.user });
    void close().then(() => process.disconnect());
  });
  send({ port });
}

// ---- sender (this process) ----------------------------------------------------------------------

interface Sender {
  /** Sends one burst; returns how many datagrams the transport accepted. */
  burst(): number;
  close(): Promise<void>;
}

async function sender(kind: SenderKind, port: number): Promise<Sender> {
  const payload = Buffer.alloc(PAYLOAD, 0x5a);
  if (kind !== 'dgram') {
    const t = await NativeUdpTransport.open(NATIVE_OPTIONS);
    const to = { host: HOST, port };
    return {
      burst: () => {
        const before = t.counters.datagramsSent;
        if (kind === 'native') {
          for (let i = 0; i < BURST; i++) t.sendQueued(payload, to);
          t.flush();
        } else {
          for (let i = 0; i < BURST; i++) t.send(payload, to);
        }
        return t.counters.datagramsSent - before;
      },
      close: () => t.close(),
    };
  }
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, HOST, resolve));
  sock.setSendBufferSize(BUFFER_BYTES);
  return {
    burst: () => {
      for (let i = 0; i < BURST; i++) sock.send(payload, port, HOST);
      return BURST;
    },
    close: () => new Promise((resolve) => sock.close(() => resolve())),
  };
}

interface Row {
  name: string;
  sentPerSecond: number;
  receivedPerSecond: number;
  loss: number;
  senderMicros: number;
  senderUserMicros: number;
  receiverMicros: number;
  receiverUserMicros: number;
}

function ask(child: ChildProcess, m: ToReceiver): Promise<FromReceiver> {
  const reply = once(child, 'message') as Promise<[FromReceiver]>;
  child.send(m);
  return withTimeout(reply.then(([r]) => r));
}

function withTimeout<T>(p: Promise<T>, ms = 5000): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error('receiver timed out')), ms).unref()),
  ]);
}

async function run(from: SenderKind, to: Kind, seconds: number): Promise<Row> {
  const child = fork(fileURLToPath(import.meta.url), ['receiver', to], { stdio: 'inherit' });
  try {
    const hello = (await withTimeout(once(child, 'message') as Promise<[FromReceiver]>))[0];
    if (!('port' in hello)) throw new Error('receiver did not report its port');
    const s = await sender(from, hello.port);
    // Warm-up (JIT, socket buffers), then the measured run.
    for (const end = Date.now() + 300; Date.now() < end; await yieldToLoop()) s.burst();
    await new Promise((r) => setTimeout(r, 100));
    child.send({ cmd: 'start' } satisfies ToReceiver);
    await new Promise((r) => setTimeout(r, 50));
    let sent = 0;
    const cpu = process.cpuUsage();
    const start = performance.now();
    const end = start + seconds * 1000;
    while (performance.now() < end) {
      sent += s.burst();
      await yieldToLoop();
    }
    const elapsed = (performance.now() - start) / 1000;
    const used = process.cpuUsage(cpu);
    await new Promise((r) => setTimeout(r, 300)); // let the receiver drain its socket buffer
    const report = (await ask(child, { cmd: 'stop' })) as ReceiverReport;
    await s.close();
    return {
      name: `${from} → ${to}`,
      sentPerSecond: sent / elapsed,
      receivedPerSecond: report.received / elapsed,
      loss: sent > 0 ? 1 - report.received / sent : 0,
      senderMicros: (used.user + used.system) / sent,
      senderUserMicros: used.user / sent,
      receiverMicros: report.received > 0 ? report.cpuMicros / report.received : NaN,
      receiverUserMicros: report.received > 0 ? report.userMicros / report.received : NaN,
    };
  } finally {
    if (child.exitCode === null) {
      const exited = once(child, 'exit');
      setTimeout(() => child.kill('SIGKILL'), 2000).unref();
      await exited;
    }
  }
}

async function main(): Promise<void> {
  const seconds = Math.min(Math.max(Number(process.argv[2] ?? 3), 0.5), 30);
  const load = loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
  const rows: Row[] = [];
  for (const [from, to] of [
    ['dgram', 'dgram'],
    ['native', 'native'],
    ['native', 'dgram'],
    ['dgram', 'native'],
    ['native-send', 'native'],
  ] as const) {
    rows.push(await run(from, to, seconds));
  }
  const anchor = rows[0];
  printTable(
    `UDP loopback, ${PAYLOAD}-byte datagrams, ${seconds} s per row (sender here, receiver in a child process)`,
    [
      'sender → receiver',
      'sent kpps',
      'received kpps',
      'loss %',
      'recv Gbit/s',
      'send µs/pkt (user)',
      'recv µs/pkt (user)',
      'received vs dgram',
    ],
    rows.map((r) => [
      r.name,
      fmt(r.sentPerSecond / 1000, 0),
      fmt(r.receivedPerSecond / 1000, 0),
      fmt(r.loss * 100, 1),
      fmt((r.receivedPerSecond * PAYLOAD * 8) / 1e9, 2),
      `${fmt(r.senderMicros, 2)} (${fmt(r.senderUserMicros, 2)})`,
      `${fmt(r.receiverMicros, 2)} (${fmt(r.receiverUserMicros, 2)})`,
      fmtRatio(r.receivedPerSecond, anchor.receivedPerSecond),
    ]),
    [
      'µs/pkt: CPU time (user + system) of that process per datagram it sent or received; in brackets the ' +
        'user-space part (JS, N-API, libuv). On loopback the sending syscall also runs most of the kernel ' +
        "receive path (up to the receiver's socket queue), so send system time includes that.",
      `native sender: sendQueued ×${BURST} then flush() (one sendmmsg); native receiver: recvmmsg batches of 64.`,
      'native-send: the native transport without batching, send() per datagram (one sendto each).',
      'Loss: datagrams the receiver could not take in time (its socket buffer overflowed).',
      `Load average at start: ${load} on ${cpus().length} CPUs (other work on the machine skews the numbers).`,
    ],
  );
}

if (process.argv[2] === 'receiver') {
  await receiver(process.argv[3] === 'native' ? 'native' : 'dgram');
} else {
  await main();
}
