// The WebSocket transport's defences, with the real `ws` package on loopback: a connection that never
// authenticates is closed, a frame over the datagram size closes its connection, text frames are
// dropped, other paths get a 404, the per-host cap refuses more unauthenticated connections, and only
// listed targets are ever dialled.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { silentLogger } from '../../src/log.js';
import type { Endpoint } from '../../src/transport/transport.js';
import { WS_PATH, WsTransport } from '../../src/transport/ws-transport.js';
import { sleep, waitFor } from './cluster.js';

function connect(port: number, path = WS_PATH): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function closed(ws: WebSocket): Promise<number> {
  return new Promise((resolve) => {
    if (ws.readyState === WebSocket.CLOSED) resolve(-1);
    ws.once('close', (code) => resolve(code));
  });
}

describe('ws transport defences', () => {
  let t: WsTransport;
  const received: Array<{ data: Buffer; from: Endpoint }> = [];
  before(async () => {
    t = await WsTransport.open({
      port: 0,
      host4: '127.0.0.1',
      host6: null,
      maxFrameBytes: 1500,
      authTimeoutMs: 300,
      admission: { maxUnauthenticatedPerHost: 3 },
      log: silentLogger,
    });
    t.onBatch((b) => received.push({ data: Buffer.from(b.buffer), from: b.source(0) }));
  });
  after(async () => {
    await t.close();
  });

  it('delivers binary frames from the connection’s ws endpoint and closes it unauthenticated', async () => {
    const ws = await connect(t.port);
    ws.send(Buffer.from('hello'));
    await waitFor(() => received.length === 1, 2000, 'frame');
    assert.equal(received[0]!.data.toString(), 'hello');
    assert.equal(received[0]!.from.via, 'ws');
    assert.equal(received[0]!.from.host, '127.0.0.1');
    await closed(ws); // within authTimeoutMs + one sweep
    assert.equal(t.counters.authTimeouts, 1);
  });

  it('keeps a connection once a packet from it was authenticated, and can answer on it', async () => {
    const ws = await connect(t.port);
    const got: Buffer[] = [];
    ws.on('message', (d: Buffer) => got.push(d));
    ws.send(Buffer.from('handshake'));
    await waitFor(() => received.length === 2, 2000, 'frame');
    t.noteAuthenticated(received[1]!.from);
    t.send(Buffer.from('reply'), received[1]!.from);
    await sleep(1500);
    assert.equal(ws.readyState, WebSocket.OPEN);
    assert.equal(got[0]?.toString(), 'reply');
    ws.close();
  });

  it('closes a connection that sends a frame over the size limit, and drops text frames', async () => {
    const ws = await connect(t.port);
    ws.send('text is not a datagram');
    await sleep(100);
    assert.equal(t.counters.dropNotBinary, 1);
    ws.send(Buffer.alloc(1501));
    assert.equal(await closed(ws), 1009);
    assert.equal(t.counters.oversizedFrames, 1);
  });

  it('answers other paths with 404 and refuses a 4th unauthenticated connection from one host', async () => {
    await assert.rejects(connect(t.port, '/other'), /404/);
    const open = await Promise.all([connect(t.port), connect(t.port), connect(t.port)]);
    await assert.rejects(connect(t.port), /503/);
    assert.ok(t.counters.rejected >= 1);
    for (const ws of open) ws.close();
  });

  it('dials only listed targets, and backs off after a failed dial', async () => {
    const nowhere: Endpoint = { host: '127.0.0.1', port: 1, via: 'ws' };
    t.send(Buffer.from('x'), nowhere);
    assert.equal(t.counters.dials, 0);
    assert.equal(t.counters.dropNoLink, 1);
    t.setDialTargets([{ host: '127.0.0.1', port: 1 }]);
    t.send(Buffer.from('x'), nowhere);
    assert.equal(t.counters.dials, 1);
    await waitFor(() => t.counters.dialFailures === 1, 3000, 'refused dial');
    t.send(Buffer.from('x'), nowhere); // within the backoff: no new dial
    assert.equal(t.counters.dials, 1);
  });
});
