// Lab set-ups and workloads several netns suites share.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OverlayLab } from './overlay-lab.js';

const FIXTURES = fileURLToPath(new URL('../netns/fixtures/', import.meta.url));

/**
 * Four sites where a reaches c only through a relay: b is the better one (10 + 10 ms), d the other
 * (20 + 20 ms), b–d 20 ms, a–c cut from the start. Started and converged, a→b→c selected.
 */
export async function createTwoRelayLab(): Promise<OverlayLab> {
  const ol = await OverlayLab.create({ sites: ['a', 'b', 'c', 'd'], latency: true });
  await ol.lab.setLatency('a', 'b', 10);
  await ol.lab.setLatency('b', 'c', 10);
  await ol.lab.setLatency('a', 'd', 20);
  await ol.lab.setLatency('d', 'c', 20);
  await ol.lab.setLatency('b', 'd', 20);
  await ol.lab.cut('a', 'c');
  ol.startAll();
  await ol.waitConverged(30_000);
  await ol.waitPath('a', 'c', ['a', 'b', 'c']);
  return ol;
}

export interface TransferEnd {
  bytes: number;
  sha256: string;
}

/**
 * Starts a checksummed TCP transfer of `bytes` from site `from` to site `to` over the overlay
 * (fixtures/tcp-transfer.ts at both ends) and returns once it is flowing; `done` resolves with what
 * each end counted and hashed, or rejects with the fixtures' logs if either failed or the transfer
 * did not finish within `timeoutMs` (default 60 s; a stalled TCP connection never ends on its own,
 * so both ends are stopped then).
 */
export async function startTcpTransfer(
  ol: OverlayLab,
  from: string,
  to: string,
  opts: { port: number; bytes: number; rateMbit?: number; name: string; timeoutMs?: number },
): Promise<{ done: Promise<{ sent: TransferEnd; got: TransferEnd }> }> {
  const script = FIXTURES + 'tcp-transfer.js';
  const port = String(opts.port);
  const sink = ol.lab.spawn(
    to,
    [process.execPath, script, 'sink', '--listen', ol.addressOf(to), '--port', port],
    {
      name: `sink-${opts.name}`,
    },
  );
  await ol.lab.waitForListen(to, opts.port, 'tcp');
  const rate = opts.rateMbit === undefined ? [] : ['--rate-mbit', String(opts.rateMbit)];
  const source = ol.lab.spawn(
    from,
    [
      process.execPath,
      script,
      'source',
      '--to',
      ol.addressOf(to),
      '--port',
      port,
      '--bytes',
      String(opts.bytes),
      ...rate,
    ],
    { name: `source-${opts.name}` },
  );
  const last = (path: string): TransferEnd =>
    JSON.parse(readFileSync(path, 'utf8').trim().split('\n').pop()!) as TransferEnd;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void Promise.all([source.stop(), sink.stop()]).then(() =>
        reject(new Error(`transfer not done within ${opts.timeoutMs ?? 60_000} ms: ${source.readLogs()}`)),
      );
    }, opts.timeoutMs ?? 60_000);
  });
  const finished = Promise.all([source.exited, sink.exited]).then(([s, k]) => {
    if (s.code !== 0) throw new Error(`source failed: ${source.readLogs()}`);
    if (k.code !== 0) throw new Error(`sink failed: ${sink.readLogs()}`);
    return { sent: last(source.stdoutPath), got: last(sink.stdoutPath) };
  });
  const done = Promise.race([finished, timedOut]).finally(() => clearTimeout(timer));
  return { done };
}
