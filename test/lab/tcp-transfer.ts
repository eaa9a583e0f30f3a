// A TCP transfer between two overlay sites with end-to-end sha256 (the tcp-transfer fixture at both
// ends): what netns tests use to prove every byte crossed intact, whatever the data plane did to it.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { OverlayLab } from './overlay-lab.js';

const FIXTURE = fileURLToPath(new URL('../netns/fixtures/tcp-transfer.js', import.meta.url));

export interface TransferResult {
  sent: { bytes: number; sha256: string; seconds: number };
  got: { bytes: number; sha256: string };
}

/** Sends `bytes` from `from` to `to`'s overlay address (IPv4 or IPv6) and returns both ends' digests. */
export async function tcpTransfer(
  ol: OverlayLab,
  from: string,
  to: string,
  opts: { bytes: number; family?: 4 | 6; port?: number; rateMbit?: number; timeoutMs?: number },
): Promise<TransferResult> {
  const port = String(opts.port ?? 5201);
  const dst = ol.addressOf(to, opts.family ?? 4);
  const sink = ol.lab.spawn(to, [process.execPath, FIXTURE, 'sink', '--listen', dst, '--port', port], {
    name: `sink-${from}-${to}-${port}`,
  });
  await ol.lab.waitForListen(to, Number(port), 'tcp');
  const source = [
    process.execPath,
    FIXTURE,
    'source',
    '--to',
    dst,
    '--port',
    port,
    '--bytes',
    String(opts.bytes),
  ];
  if (opts.rateMbit !== undefined) source.push('--rate-mbit', String(opts.rateMbit));
  const out = await ol.lab.execOk(from, source, { timeoutMs: opts.timeoutMs ?? 120_000 });
  await sink.exited;
  return {
    sent: JSON.parse(out.trim().split('\n').pop()!) as TransferResult['sent'],
    got: JSON.parse(readFileSync(sink.stdoutPath, 'utf8').trim().split('\n').pop()!) as TransferResult['got'],
  };
}
