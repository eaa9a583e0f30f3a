// The CLI as an operator meets it: every expected failure is one line starting "overlayd:", with no
// stack trace, and an exit status that says what kind of failure it was (0 only on success; 1 runtime,
// 2 usage, 77 privilege, 78 configuration). The daemon side is real: nodes of the in-process cluster
// serving their control sockets, which the CLI (a separate process) talks to.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { KEY1, KEY2, KEY3 } from '../unit/config-fixtures.js';
import { Cluster, waitFor } from './cluster.js';

const BIN = fileURLToPath(new URL('../../../bin/overlayd.js', import.meta.url));
const VERSION = (
  JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function overlayd(
  args: string[],
  opts: { cwd?: string; timeoutMs?: number; prefix?: string[] } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const argv = [...(opts.prefix ?? []), process.execPath, BIN, ...args];
    const started = performance.now();
    const child = spawn(argv[0], argv.slice(1), { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const kill = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(kill);
      resolve({ code, stdout, stderr, ms: performance.now() - started });
    });
  });
}

/** Exit status and the one-line message, and nothing that looks like a stack trace. */
function assertFails(r: Run, code: number, message: RegExp): void {
  assert.equal(r.code, code, `exit status\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.match(r.stderr, /^overlayd: /, r.stderr);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /^\s+at .*[:(]\d+/m, 'no stack trace');
  assert.doesNotMatch(r.stderr, /unexpected error/);
}

const peersYaml = (peers: string[]): string =>
  ['network:', '  prefix: 10.77.0.0/24', 'peers:', ...peers].join('\n') + '\n';
const member = (name: string, key: string, n: number, endpoints = '[]'): string =>
  [
    `  - name: ${name}`,
    `    publicKey: ${key}`,
    `    address: 10.77.0.${n}`,
    `    endpoints: ${endpoints}`,
  ].join('\n');

describe('overlayd CLI: usage, files and exit statuses (no daemon)', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'overlayd-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('--version prints the package version and exits 0', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await overlayd([flag]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `overlayd ${VERSION}\n`);
    }
  });

  it('an unknown command or flag is a usage error (2)', async () => {
    assertFails(await overlayd(['frobnicate']), 2, /Unknown argument: frobnicate/);
    assertFails(await overlayd(['status', '--nope']), 2, /Unknown argument: nope/);
  });

  it('--port abc is a clear usage error, not NaN', async () => {
    const r = await overlayd(['up', '--peers', 'x.yaml', '--port', 'abc']);
    assertFails(r, 2, /^overlayd: --port "abc" is not a UDP port number \(1\.\.65535\)$/m);
    assert.doesNotMatch(r.stderr, /NaN/);
    assertFails(await overlayd(['up', '--peers', 'x.yaml', '--port', '70000']), 2, /--port "70000"/);
  });

  it('an interface name over 15 bytes is refused before anything is opened', async () => {
    assertFails(
      await overlayd(['up', '--peers', 'x.yaml', '--interface', 'overlay-at-the-office']),
      2,
      /--interface 'overlay-at-the-office' is 21 bytes; Linux interface names are at most 15/,
    );
  });

  it(
    'up without root or CAP_NET_ADMIN says so (77)',
    { skip: process.getuid?.() === 0 && !SETPRIV ? 'setpriv (util-linux) not installed' : false },
    async () => {
      // As root, drop to nobody with no capabilities at all, as a user running it by hand would be.
      const prefix =
        process.getuid?.() === 0
          ? [
              SETPRIV!,
              '--reuid=65534',
              '--regid=65534',
              '--clear-groups',
              '--inh-caps=-all',
              '--bounding-set=-all',
            ]
          : [];
      const r = await overlayd(['up', '--peers', join(dir, 'absent.yaml')], { prefix, cwd: '/' });
      assertFails(
        r,
        77,
        /^overlayd: overlayd up needs root or CAP_NET_ADMIN \(running as uid \d+ without it\)/,
      );
    },
  );

  it('check --peers /dev/zero stops at the size limit, fast (78)', async () => {
    const r = await overlayd(['check', '--peers', '/dev/zero']);
    assertFails(
      r,
      78,
      /\/dev\/zero: more than 1048576 bytes \(reading stopped there\); peers\.yaml may be at most 1024 KiB/,
    );
    assert.ok(r.ms < 5000, `took ${r.ms} ms`);
  });

  it('check of a huge file is refused from its size (78)', async () => {
    const huge = join(dir, 'huge.yaml');
    writeFileSync(huge, '');
    truncateSync(huge, 4 * 1024 ** 3);
    const r = await overlayd(['check', '--peers', huge]);
    assertFails(r, 78, /huge\.yaml: 4294967296 bytes; peers\.yaml may be at most 1024 KiB/);
    assert.ok(r.ms < 5000, `took ${r.ms} ms`);
  });

  it('check warns (exit 0) when no member has an endpoint', async () => {
    const file = join(dir, 'no-endpoints.yaml');
    writeFileSync(file, peersYaml([member('a', KEY1, 1), member('b', KEY2, 2)]));
    const r = await overlayd(['check', '--peers', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /no-endpoints\.yaml: ok, 2 members, prefix 10\.77\.0\.0\/24, sha256 [0-9a-f]{12}/);
    assert.match(r.stderr, /^overlayd: .*no-endpoints\.yaml: warning: no member lists an endpoint/m);
  });

  it('check warns (exit 0) when two members share an endpoint, naming both lines', async () => {
    const file = join(dir, 'shared.yaml');
    writeFileSync(
      file,
      peersYaml([
        member('a', KEY1, 1, '[198.51.100.7:7946]'),
        member('b', KEY2, 2, '[203.0.113.1:7946]'),
        member('c', KEY3, 3, '["198.51.100.7"]'),
      ]),
    );
    const r = await overlayd(['check', '--peers', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /shared\.yaml:15: warning: peers\[2\]\.endpoints\[0\]: 198\.51\.100\.7:7946 is also an endpoint of 'a' \(line 7\)/,
    );
  });

  it('check rejects an unbracketed IPv6 host:port (78), showing both readings', async () => {
    const file = join(dir, 'v6.yaml');
    writeFileSync(file, peersYaml([member('a', KEY1, 1, '[2001:db8::7:7946]')]));
    assertFails(
      await overlayd(['check', '--peers', file]),
      78,
      /v6\.yaml:7: peers\[0\]\.endpoints\[0\]: "2001:db8::7:7946": is ambiguous without brackets .* write \[2001:db8::7\]:7946 or \[2001:db8::7:7946\]/,
    );
  });

  it('keygen --out into a missing directory refuses and creates nothing', async () => {
    const missing = join(dir, 'etc', 'overlayd');
    const r = await overlayd(['keygen', '--out', join(missing, 'key')]);
    assertFails(r, 78, new RegExp(`directory ${missing} does not exist; create it first`));
    assert.equal(r.stdout, '', 'no public key printed for a key that was not written');
    assert.ok(!existsSync(join(dir, 'etc')));
  });

  it('a command that needs the daemon exits 1 when none runs', async () => {
    assertFails(await overlayd(['status', '--socket', join(dir, 'none.sock')]), 1, /overlayd is not running/);
  });

  it('survives a control socket that answers with something other than JSON (1)', async () => {
    const path = join(dir, 'garbage.sock');
    const http = createServer();
    const wss = new WebSocketServer({ server: http });
    wss.on('connection', (ws) => ws.on('message', () => ws.send('<html>not json{')));
    await new Promise<void>((resolve) => http.listen(path, resolve));
    try {
      for (const cmd of ['status', 'paths', 'reload']) {
        assertFails(
          await overlayd([cmd, '--socket', path]),
          1,
          /the reply is not valid JSON \("<html>not json\{"\); is .*garbage\.sock an overlayd control socket\?/,
        );
      }
    } finally {
      for (const c of wss.clients) c.terminate();
      wss.close();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  });
});

describe('overlayd CLI against running nodes', () => {
  let dir: string;
  let c: Cluster;
  const daemonLog: string[] = [];
  const sock = (name: string): string => join(dir, `${name}.sock`);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'overlayd-cli-'));
    // c is in peers.yaml with an endpoint but never runs: unreachable, with handshakes unanswered.
    c = await Cluster.create(['a', 'b', 'c'], {
      controlDir: dir,
      absent: ['c'],
      logLines: daemonLog,
    });
    await waitFor(() => c.get('a').node.router.route(c.get('b').node.self.id) !== undefined, 10_000, 'a→b');
    await waitFor(
      () =>
        (c.get('a').node.sessions.stats(c.config.peers[2].id, performance.now())?.handshakeAttempts ?? 0) > 0,
      10_000,
      'a to try c',
    );
  });
  after(async () => {
    await c?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('status fits 100 columns and says why c is unreachable', async () => {
    const r = await overlayd(['status', '--socket', sock('a')]);
    assert.equal(r.code, 0, r.stderr);
    for (const line of r.stdout.split('\n')) assert.ok(line.length <= 100, `${line.length}: ${line}`);
    assert.match(r.stdout, /^overlayd \S+ a \(/);
    assert.match(r.stdout, /^config sha256 [0-9a-f]{12}, loaded \d+s ago from /m);
    assert.match(r.stdout, /^MEMBER\s+ADDRESS\s+REACH\s+PATH\s+DIRECT\s+LOSS\s+ENDPOINT\s+HANDSHAKE$/m);
    assert.match(
      r.stdout,
      /^b\s+10\.77\.0\.2\s+yes\s+a→b\s+[\d.]+ ms\s+[\d.]+%\s+192\.0\.2\.2:7946\s+\d+s$/m,
    );
    assert.match(
      r.stdout,
      /^c\s+10\.77\.0\.3\s+NO\s+no reply to \d+ handshakes?: down, blocked, or lacks our key$/m,
    );
    const wide = await overlayd(['status', '--wide', '--socket', sock('a')]);
    assert.match(
      wide.stdout,
      /HOPS\s+COST\s+DIRECT\s+LOSS\s+JITTER\s+ENDPOINT\s+LINK\s+HANDSHAKE\s+SESSION\s+TX\s+RX\s+RELAYED/,
    );
  });

  it('status --watch writes timestamped plain text when stdout is a pipe, and exits 0 on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [BIN, 'status', '--watch', '--interval', '0.2', '--socket', sock('a')],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    const snapshots = (): string[] => stdout.match(/^--- \d{4}-\d\d-\d\dT[\d:.]+Z$/gm) ?? [];
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (snapshots().length >= 3) child.kill('SIGTERM');
    });
    const kill = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(kill);
    assert.equal(code, 0, stderr);
    assert.ok(!stdout.includes('\u001b'), 'no terminal escape sequences');
    assert.ok(snapshots().length >= 3, stdout);
    assert.equal((stdout.match(/^MEMBER/gm) ?? []).length, snapshots().length);
  });

  it('status --watch piped into a reader that stops (| head) ends quietly with 0', async () => {
    const child = spawn(
      process.execPath,
      [BIN, 'status', '--watch', '--interval', '0.1', '--socket', sock('a')],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    child.stdout.destroy(); // what head does after its lines
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 0, stderr);
    assert.equal(stderr, '');
  });

  it('ping and trace exit 0 for a reachable member and 1 for an unreachable one', async () => {
    const ok = await overlayd(['ping', 'b', '-c', '2', '--socket', sock('a')]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /path a→b: 2 sent, 2 answered/);
    assertFails(
      await overlayd(['ping', 'c', '-c', '1', '--socket', sock('a')]),
      1,
      /^overlayd: c is unreachable: no path, and no answer on the direct link$/m,
    );
    assert.equal((await overlayd(['trace', 'b', '--socket', sock('a')])).code, 0);
    assertFails(
      await overlayd(['trace', 'c', '--socket', sock('a')]),
      1,
      /^overlayd: c is unreachable: no path$/m,
    );
    const json = await overlayd(['ping', 'c', '-c', '1', '--json', '--socket', sock('a')]);
    assert.equal(json.code, 1, '--json does not change the status');
    assert.equal((JSON.parse(json.stdout) as { path: unknown }).path, null);
  });

  it('a name that is no member is a usage error (2), passed through from the daemon', async () => {
    assertFails(
      await overlayd(['ping', 'nobody', '--socket', sock('a')]),
      2,
      /no member named or addressed 'nobody'/,
    );
  });

  it('a relative --socket (or --control) path is taken from the working directory', async () => {
    for (const flag of ['--socket', '--control']) {
      const r = await overlayd(['paths', flag, 'a.sock'], { cwd: dir });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^paths from a/);
    }
  });

  it('reload of a broken file exits 78 with the file:line problem, and the daemon logs it too', async () => {
    const file = c.get('a').node.configuration.file;
    const good = readFileSync(file, 'utf8');
    try {
      writeFileSync(file, good.replace('address: 10.77.0.2', 'address: 10.99.0.2'));
      const r = await overlayd(['reload', '--socket', sock('a')]);
      assertFails(r, 78, /peers\.yaml:\d+: peers\[1\]\.address: 10\.99\.0\.2 is outside network\.prefix/);
      assert.ok(
        daemonLog.some((l) =>
          / error a: reload \(control socket\) rejected, running configuration kept: .*peers\[1\]\.address/.test(
            l,
          ),
        ),
        daemonLog.join('\n'),
      );
    } finally {
      writeFileSync(file, good);
    }
    const ok = await overlayd(['reload', '--socket', sock('a')]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(
      ok.stdout,
      /^reloaded \(sha256 [0-9a-f]{12}\): added \[\], removed \[\], changed \[\], new keys \[\]$/m,
    );
  });
});
