// What an operator gets from `npm pack` + `npm install -g`: the tarball holds the compiled CLI, the
// native TUN source and deploy/ (and no tests), the install builds the addon with node-gyp and pulls
// the runtime dependencies from the registry, and the installed `overlayd` works: --help, keygen, and
// (root only) `overlayd up` run exactly as the systemd unit runs it — an unprivileged user holding
// CAP_NET_ADMIN and nothing else — creating its TUN, serving metrics and exiting cleanly on SIGTERM.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { labSkipReason } from '../lab/lab-prereqs.js';
import { Lab, type LabProcess } from '../lab/lab.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The unprivileged uid/gid the daemon runs as in the capability check (nobody). */
const NOBODY = 65534;
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion, killing it after timeoutMs; never throws for a non-zero exit. */
function run(cmd: string, args: string[], opts: { cwd?: string; timeoutMs: number }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const failure = (what: string, r: Run): string => `${what} exited ${r.code}\n${r.stdout}\n${r.stderr}`;

describe('npm pack + npm install -g of overlayd', { timeout: 420_000 }, () => {
  let dir: string;
  let prefix: string;
  let overlayd: string;
  let packed: string[] = [];

  before(async () => {
    assert.ok(
      existsSync(join(ROOT, 'dist/src/main.js')),
      'build first (npm run build): dist/src/main.js is missing',
    );
    dir = mkdtempSync(join(tmpdir(), 'overlayd-install-'));
    // nobody must reach the installed files in the capability check below.
    chmodSync(dir, 0o755);
    prefix = join(dir, 'prefix');
    overlayd = join(prefix, 'bin', 'overlayd');
    // --ignore-scripts: pack what `npm run build` produced; `prepare` would rebuild the whole tree,
    // test files of work in progress included, which is the build's job, not this test's.
    const pack = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], {
      cwd: ROOT,
      timeoutMs: 120_000,
    });
    assert.equal(pack.code, 0, failure('npm pack', pack));
    const [info] = JSON.parse(pack.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    packed = info.files.map((f) => f.path);
    const install = await run(
      'npm',
      ['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', join(dir, info.filename)],
      { cwd: dir, timeoutMs: 300_000 },
    );
    assert.equal(install.code, 0, failure('npm install -g', install));
  });

  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('packs the compiled CLI, the native source and deploy/, without tests or TypeScript sources', () => {
    for (const f of [
      'package.json',
      'bin/overlayd.js',
      'dist/src/main.js',
      'dist/src/metrics/metrics-server.js',
      'binding.gyp',
      'native/tun.c',
      'deploy/systemd/overlayd.service',
      'deploy/prometheus/prometheus.yml',
      'deploy/prometheus/overlayd-rules.yml',
      'deploy/grafana/overlayd.json',
      'deploy/README.md',
    ])
      assert.ok(packed.includes(f), `${f} is in the tarball`);
    const strays = packed.filter(
      (f) => f.startsWith('dist/test/') || f.startsWith('test/') || /^src\/.*\.ts$/.test(f),
    );
    assert.deepEqual(strays, []);
  });

  it('built the native TUN addon during the install', () => {
    assert.ok(existsSync(join(prefix, 'lib/node_modules/overlayd/build/Release/overlayd_tun.node')));
  });

  it('runs `overlayd --help` from the global install', async () => {
    const r = await run(overlayd, ['--help'], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, failure('overlayd --help', r));
    for (const cmd of ['keygen', 'check', 'up', 'status', 'paths'])
      assert.match(r.stdout, new RegExp(`overlayd ${cmd}`));
    const up = await run(overlayd, ['up', '--help'], { timeoutMs: 30_000 });
    assert.match(up.stdout, /--metrics/);
  });

  it('runs `overlayd keygen` from the global install: a 0600 key file and its public key', async () => {
    const key = join(dir, 'keys', 'site.key');
    const r = await run(overlayd, ['keygen', '--out', key], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, failure('overlayd keygen', r));
    assert.match(r.stdout.trim(), /^[A-Za-z0-9+/]{43}=$/);
    assert.equal(statSync(key).mode & 0o777, 0o600);
    const again = await run(overlayd, ['pubkey', '--key', key], { timeoutMs: 30_000 });
    assert.equal(again.stdout.trim(), r.stdout.trim(), failure('overlayd pubkey', again));
  });

  const capSkip = labSkipReason() || (SETPRIV ? false : 'setpriv (util-linux) not installed');
  describe(
    'the installed daemon as the systemd unit runs it (uid nobody, CAP_NET_ADMIN only)',
    { skip: capSkip },
    () => {
      let lab: Lab;
      let daemon: LabProcess | undefined;

      before(async () => {
        lab = await Lab.create({ sites: ['a'], ipv6: false });
      });
      after(async () => {
        await daemon?.stop();
        await lab?.destroy();
      });

      it('creates its TUN, serves metrics and removes the TUN on SIGTERM', async () => {
        const etc = join(dir, 'etc');
        const runDir = join(dir, 'run');
        mkdirSync(etc, { recursive: true });
        mkdirSync(runDir, { recursive: true });
        const key = join(etc, 'key');
        const pub = (await run(overlayd, ['keygen', '--out', key], { timeoutMs: 30_000 })).stdout.trim();
        const other = (
          await run(overlayd, ['keygen', '--out', join(etc, 'other.key')], { timeoutMs: 30_000 })
        ).stdout.trim();
        writeFileSync(
          join(etc, 'peers.yaml'),
          [
            'network:',
            '  prefix: 10.77.0.0/24',
            'peers:',
            '  - name: solo',
            `    publicKey: ${pub}`,
            '    address: 10.77.0.1',
            '    endpoints: []',
            '  - name: other',
            `    publicKey: ${other}`,
            '    address: 10.77.0.2',
            '    endpoints: [10.200.1.1:7946]',
            '',
          ].join('\n'),
        );
        // As the unit's install notes say: the key belongs to the service user; so does the run directory.
        chownSync(key, NOBODY, NOBODY);
        chownSync(runDir, NOBODY, NOBODY);
        chmodSync(etc, 0o755);
        daemon = lab.spawn(
          'a',
          [
            SETPRIV!,
            `--reuid=${NOBODY}`,
            `--regid=${NOBODY}`,
            '--clear-groups',
            '--inh-caps=-all,+net_admin',
            '--ambient-caps=-all,+net_admin',
            '--bounding-set=-all,+net_admin',
            '--no-new-privs',
            overlayd,
            'up',
            '--peers',
            join(etc, 'peers.yaml'),
            '--key',
            key,
            '--control',
            join(runDir, 'ovl0.sock'),
            '--metrics',
            '127.0.0.1:9477',
          ],
          { name: 'overlayd-installed' },
        );
        await lab.waitFor(
          async () => {
            if (!daemon?.isAlive()) throw new Error(`overlayd exited:\n${daemon?.readLogs()}`);
            return (await lab.exec('a', ['ip', 'link', 'show', 'ovl0'])).code === 0;
          },
          { timeoutMs: 15_000, what: 'ovl0 created by the unprivileged daemon' },
        );
        const status = await lab.execOk('a', ['grep', '^Cap', `/proc/${daemon.pid}/status`]);
        assert.match(status, /CapEff:\s+0000000000001000/, 'CAP_NET_ADMIN (bit 12) and nothing else');
        const metrics = await lab.execOk('a', [
          process.execPath,
          '-e',
          `fetch('http://127.0.0.1:9477/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))`,
        ]);
        assert.match(metrics, /^overlay_member_reachable\{member="other",node="solo"\} 0$/m);
        assert.equal(
          statSync(join(runDir, 'ovl0.sock')).uid,
          NOBODY,
          'control socket owned by the service user',
        );
        daemon.kill('SIGTERM');
        const exit = await daemon.exited;
        assert.equal(exit.code, 0, daemon.readLogs());
        assert.notEqual((await lab.exec('a', ['ip', 'link', 'show', 'ovl0'])).code, 0, 'ovl0 is gone');
      });
    },
  );
});
