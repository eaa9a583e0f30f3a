// The control socket's filesystem checks, on real unix sockets: a directory someone else may write (or
// that someone else owns) is refused, a file that is not a socket is never deleted to make room, and
// relative paths work on both ends.
import assert from 'node:assert/strict';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ControlClient } from '../../src/control/client.js';
import { ControlServer } from '../../src/control/server.js';
import { isOverlayError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';

const handlers = { hello: () => ({ hi: true }) };

async function listenError(path: string): Promise<{ code: string; message: string }> {
  try {
    const s = await ControlServer.listen(path, handlers, silentLogger);
    await s.close();
  } catch (err) {
    assert.ok(isOverlayError(err), String(err));
    return { code: err.code, message: err.message };
  }
  assert.fail(`listening on ${path} should fail`);
}

describe('control socket checks', () => {
  let dir: string;
  let n = 0;
  const fresh = (mode = 0o700): string => {
    const d = join(dir, `d${n++}`);
    mkdirSync(d);
    chmodSync(d, mode);
    return d;
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'overlayd-ctl-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('listens in a private directory, socket mode 0600, and answers', async () => {
    const path = join(fresh(), 'ovl0.sock');
    const server = await ControlServer.listen(path, handlers, silentLogger);
    try {
      assert.equal(statSync(path).mode & 0o777, 0o600);
      const client = await ControlClient.connect(path);
      assert.deepEqual(await client.call('hello'), { hi: true });
      client.close();
    } finally {
      await server.close();
    }
  });

  it('creates a missing directory with mode 0700', async () => {
    const d = join(dir, `missing${n++}`);
    const server = await ControlServer.listen(join(d, 'ovl0.sock'), handlers, silentLogger);
    await server.close();
    assert.equal(statSync(d).mode & 0o777, 0o700);
  });

  for (const mode of [0o777, 0o770, 0o702, 0o1777]) {
    it(`refuses a directory with mode ${mode.toString(8)} (others could swap the socket)`, async () => {
      const d = fresh(mode);
      const { code, message } = await listenError(join(d, 'ovl0.sock'));
      assert.equal(code, 'ERR_PERMISSION');
      assert.match(
        message,
        new RegExp(
          `control socket directory ${d} has mode 0?${mode.toString(8)}: group or others may write it`,
        ),
      );
      assert.ok(!existsSync(join(d, 'ovl0.sock')), 'no socket made');
    });
  }

  it(
    'refuses a directory owned by another user',
    { skip: process.getuid?.() === 0 ? false : 'needs root to chown' },
    async () => {
      const d = fresh();
      chownSync(d, 65534, 65534);
      const { code, message } = await listenError(join(d, 'ovl0.sock'));
      assert.equal(code, 'ERR_PERMISSION');
      assert.match(message, /is owned by uid 65534, not by this daemon's user \(uid 0\)/);
    },
  );

  it('refuses a regular file at the socket path and leaves it as it was', async () => {
    const path = join(fresh(), 'peers.yaml');
    writeFileSync(path, 'network: {}\n');
    const { code, message } = await listenError(path);
    assert.equal(code, 'ERR_USAGE');
    assert.equal(
      message,
      `${path} exists and is not a socket (a regular file); refusing to replace it with the control socket: remove it, or choose another --control path`,
    );
    assert.equal(readFileSync(path, 'utf8'), 'network: {}\n');
  });

  it('refuses a directory at the socket path', async () => {
    const d = fresh();
    mkdirSync(join(d, 'ovl0.sock'));
    assert.match((await listenError(join(d, 'ovl0.sock'))).message, /is not a socket \(a directory\)/);
  });

  it('refuses to take over a socket another daemon answers on', async () => {
    const path = join(fresh(), 'ovl0.sock');
    const first = await ControlServer.listen(path, handlers, silentLogger);
    try {
      assert.match((await listenError(path)).message, /another overlayd is already running/);
    } finally {
      await first.close();
    }
  });

  it('takes relative paths from the working directory, on both ends', async () => {
    const rel = relative(process.cwd(), join(fresh(), 'ovl0.sock'));
    assert.ok(!rel.startsWith('/'), rel);
    const server = await ControlServer.listen(rel, handlers, silentLogger);
    try {
      assert.ok(server.path.startsWith('/'), 'listens on the absolute path');
      const client = await ControlClient.connect(rel);
      assert.deepEqual(await client.call('hello'), { hi: true });
      client.close();
    } finally {
      await server.close();
    }
  });

  it('refuses a path too long for a unix socket, with the limit', async () => {
    const { code, message } = await listenError(join(fresh(), 'x'.repeat(120)));
    assert.equal(code, 'ERR_USAGE');
    assert.match(message, /is \d+ bytes; unix sockets allow at most 107/);
  });
});
