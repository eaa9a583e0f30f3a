// TLS on the WebSocket transport (network.tls): a key file others can read is refused; with a
// self-signed certificate two transports talk wss, and a plain ws client is not understood.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { isOverlayError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import type { Endpoint } from '../../src/transport/transport.js';
import { loadWsTls } from '../../src/transport/ws-tls.js';
import { WS_PATH, WsTransport } from '../../src/transport/ws-transport.js';
import { waitFor } from './cluster.js';

describe('ws transport with TLS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ws-tls-'));
  const paths = { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') };
  const open: WsTransport[] = [];
  before(() => {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-subj',
        '/CN=overlayd-test',
        '-days',
        '1',
        '-keyout',
        paths.key,
        '-out',
        paths.cert,
      ],
      { stdio: 'ignore' },
    );
  });
  after(async () => {
    for (const t of open) await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a key readable by others', () => {
    chmodSync(paths.key, 0o644);
    assert.throws(
      () => loadWsTls(paths),
      (e) => isOverlayError(e) && e.code === 'ERR_TLS',
    );
    chmodSync(paths.key, 0o600);
    assert.ok(loadWsTls(paths).key.length > 0);
  });

  it('carries frames over wss between two transports, and a plain ws client fails', async () => {
    const tls = loadWsTls(paths);
    const mk = (): Promise<WsTransport> =>
      WsTransport.open({
        port: 0,
        host4: '127.0.0.1',
        host6: null,
        tls,
        maxFrameBytes: 1500,
        log: silentLogger,
      });
    const [a, b] = [await mk(), await mk()];
    open.push(a, b);
    const got: Array<{ data: string; from: Endpoint }> = [];
    b.onBatch((batch) => got.push({ data: batch.buffer.toString(), from: batch.source(0) }));
    const bEndpoint: Endpoint = { host: '127.0.0.1', port: b.port, via: 'ws' };
    a.setDialTargets([{ host: '127.0.0.1', port: b.port }]);
    a.send(Buffer.from('sealed'), bEndpoint);
    await waitFor(() => got.length === 1, 3000, 'frame over wss');
    assert.equal(got[0]!.data, 'sealed');
    await assert.rejects(
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${b.port}${WS_PATH}`);
        ws.once('open', resolve);
        ws.once('error', reject);
      }),
    );
  });
});
