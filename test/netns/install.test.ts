// What an operator gets from `npm pack` + `npm install -g`: the tarball holds the compiled CLI with
// the TypeScript its source maps point at, the native sources, deploy/, the LICENSE and every file the
// README names (and no tests), the install builds the addon with node-gyp and pulls the runtime
// dependencies from the registry, and the installed `overlayd` works: --version, --help, keygen, and
// (root only) the three commands of the systemd unit run as it runs them — an unprivileged user
// holding CAP_NET_ADMIN and nothing else: ExecStartPre's `check`, ExecStart's `up` (creating its TUN,
// serving metrics and the control socket), ExecReload's `reload`, and a clean exit on SIGTERM.
//
// /dev/net/tun: the unprivileged daemon needs to open it, which the usual mode 0666 allows (systemd's
// udev rules set it). Some machines (this test's VM among them: no udev) have 0600. The test first
// runs the daemon against 0600 and expects the explained refusal (exit 77, naming the file and its
// mode), then sets 0666 for the run that must work, and restores the original mode afterwards.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
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
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { labSkipReason } from '../lab/lab-prereqs.js';
import { Lab, type LabProcess } from '../lab/lab.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The unprivileged uid/gid the daemon runs as in the capability check (nobody). */
const NOBODY = 65534;
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => existsSync(p));
const TUN_DEVICE = '/dev/net/tun';
/** setpriv arguments for the systemd unit's identity: uid/gid nobody, CAP_NET_ADMIN only. */
const AS_SERVICE_USER = [
  `--reuid=${NOBODY}`,
  `--regid=${NOBODY}`,
  '--clear-groups',
  '--inh-caps=-all,+net_admin',
  '--ambient-caps=-all,+net_admin',
  '--bounding-set=-all,+net_admin',
  '--no-new-privs',
];

/**
 * Files a README points at: markdown link targets and backticked relative paths, resolved from the
 * README's directory, that exist in this checkout (so `peers.yaml` in prose is not taken for one).
 */
function referencedFiles(readme: string): string[] {
  const text = readFileSync(join(ROOT, readme), 'utf8');
  const base = dirname(readme);
  const candidates = [
    ...[...text.matchAll(/\]\(([^)#\s]+)\)/g)].map((m) => m[1]).filter((t) => !/^[a-z]+:/.test(t)),
    ...[...text.matchAll(/`([\w.-]+(?:\/[\w.-]+)+)`/g)].map((m) => m[1]),
    // Documents named in prose: SECURITY.md, DEVELOPERS.md, deploy/README.md.
    ...[...text.matchAll(/(?<![\w/.-])((?:[\w-]+\/)*[A-Z][A-Z_]*\.md)\b/g)].map((m) => m[1]),
  ];
  const found = new Set<string>();
  for (const c of candidates) {
    const path = normalize(join(base, c));
    if (!path.startsWith('..') && existsSync(join(ROOT, path))) found.add(path);
  }
  return [...found];
}

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

  it('packs the compiled CLI, the native source, deploy/ and the LICENSE, without tests', () => {
    for (const f of [
      'package.json',
      'LICENSE',
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
      'deploy/udev/60-overlayd-tun.rules',
    ])
      assert.ok(packed.includes(f), `${f} is in the tarball`);
    const strays = packed.filter((f) => /^(dist\/)?(test|benchmarks)\/.*\.(js|ts)$/.test(f));
    assert.deepEqual(strays, []);
    assert.match(readFileSync(join(ROOT, 'LICENSE'), 'utf8'), /Apache License\s+Version 2\.0/);
  });

  it('ships the source every source map points at', () => {
    const maps = packed.filter((f) => f.endsWith('.js.map'));
    assert.ok(maps.length > 50, `${maps.length} maps`);
    for (const map of maps) {
      const { sources } = JSON.parse(readFileSync(join(ROOT, map), 'utf8')) as { sources: string[] };
      for (const src of sources) {
        const path = normalize(join(dirname(map), src));
        assert.ok(packed.includes(path), `${map} points at ${path}, which is not in the tarball`);
      }
    }
  });

  it('ships every file README.md and deploy/README.md point at', () => {
    const refs = [...referencedFiles('README.md'), ...referencedFiles('deploy/README.md')];
    for (const f of ['deploy/README.md', 'deploy/systemd/overlayd.service', 'SECURITY.md', 'DEVELOPERS.md'])
      assert.ok(refs.includes(f), `${f} among ${refs.join(' ')}`);
    const missing = refs.filter((f) => !packed.includes(f) && !packed.some((p) => p.startsWith(`${f}/`)));
    assert.deepEqual(missing, []);
  });

  it('built the native TUN addon during the install', () => {
    assert.ok(existsSync(join(prefix, 'lib/node_modules/overlayd/build/Release/overlayd_tun.node')));
  });

  it('runs `overlayd --version` from the global install', async () => {
    const r = await run(overlayd, ['--version'], { timeoutMs: 30_000 });
    assert.equal(r.code, 0, failure('overlayd --version', r));
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(r.stdout, `overlayd ${version}\n`);
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
    const missing = await run(overlayd, ['keygen', '--out', join(dir, 'keys', 'site.key')], {
      timeoutMs: 30_000,
    });
    assert.equal(missing.code, 78, 'a missing directory is refused, not created');
    mkdirSync(join(dir, 'keys'), { mode: 0o700 });
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
      let tunMode: number;
      const etc = (): string => join(dir, 'etc');
      const runDir = (): string => join(dir, 'run');
      const asService = (args: string[]): string[] => [SETPRIV!, ...AS_SERVICE_USER, overlayd, ...args];
      const upArgs = (): string[] => [
        'up',
        '--peers',
        join(etc(), 'peers.yaml'),
        '--key',
        join(etc(), 'key'),
        '--control',
        join(runDir(), 'ovl0.sock'),
        '--metrics',
        '127.0.0.1:9477',
      ];

      before(async () => {
        tunMode = statSync(TUN_DEVICE).mode & 0o7777;
        lab = await Lab.create({ sites: ['a'], ipv6: false });
        mkdirSync(etc(), { recursive: true });
        mkdirSync(runDir(), { recursive: true });
        const key = join(etc(), 'key');
        const pub = (await run(overlayd, ['keygen', '--out', key], { timeoutMs: 30_000 })).stdout.trim();
        const other = (
          await run(overlayd, ['keygen', '--out', join(etc(), 'other.key')], { timeoutMs: 30_000 })
        ).stdout.trim();
        writeFileSync(
          join(etc(), 'peers.yaml'),
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
        // As the unit's install notes say: the key belongs to the service user; so does the run
        // directory, mode 0700 (RuntimeDirectoryMode).
        chownSync(key, NOBODY, NOBODY);
        chownSync(runDir(), NOBODY, NOBODY);
        chmodSync(runDir(), 0o700);
        chmodSync(etc(), 0o755);
      });
      after(async () => {
        await daemon?.stop();
        await lab?.destroy();
        chmodSync(TUN_DEVICE, tunMode);
      });

      it("ExecStartPre's check passes as the service user", async () => {
        const r = await lab.exec(
          'a',
          asService(['check', '--peers', join(etc(), 'peers.yaml'), '--key', join(etc(), 'key')]),
        );
        assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
        assert.match(r.stdout, /ok, 2 members, .*this node is solo/);
      });

      it('with /dev/net/tun at 0600 the daemon names the file, its mode and the fix, and exits 77', async () => {
        chmodSync(TUN_DEVICE, 0o600);
        const r = await lab.exec('a', asService(upArgs()), { timeoutMs: 30_000 });
        assert.equal(r.code, 77, `${r.stdout}\n${r.stderr}`);
        assert.match(
          r.stderr,
          /^overlayd: cannot open \/dev\/net\/tun: permission denied \(mode 0600, owner uid 0 gid 0; this process runs as uid 65534\)\. .*the usual mode is 0666 .*chmod 0666 \/dev\/net\/tun.*60-overlayd-tun\.rules/m,
        );
        assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
        assert.notEqual(
          (await lab.exec('a', ['ip', 'link', 'show', 'ovl0'])).code,
          0,
          'no interface left behind',
        );
      });

      it('with the usual 0666: creates its TUN, serves metrics, reloads through ExecReload, stops on SIGTERM', async () => {
        // The standard mode (what systemd's udev rules give it), for this run only; after() restores it.
        chmodSync(TUN_DEVICE, 0o666);
        daemon = lab.spawn('a', asService(upArgs()), { name: 'overlayd-installed' });
        await lab.waitFor(
          async () => {
            if (!daemon?.isAlive()) throw new Error(`overlayd exited:\n${daemon?.readLogs()}`);
            return (
              (await lab.exec('a', ['ip', 'link', 'show', 'ovl0'])).code === 0 &&
              existsSync(join(runDir(), 'ovl0.sock'))
            );
          },
          { timeoutMs: 15_000, what: 'ovl0 and the control socket created by the unprivileged daemon' },
        );
        const status = await lab.execOk('a', ['grep', '^Cap', `/proc/${daemon.pid}/status`]);
        assert.match(status, /CapEff:\s+0000000000001000/, 'CAP_NET_ADMIN (bit 12) and nothing else');
        const metrics = await lab.execOk('a', [
          process.execPath,
          '-e',
          `fetch('http://127.0.0.1:9477/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))`,
        ]);
        assert.match(metrics, /^overlay_member_reachable\{member="other",node="solo"\} 0$/m);
        assert.match(metrics, /^overlayd_build_info\{version="[^"]+",node="solo"\} 1$/m);
        assert.equal(
          statSync(join(runDir(), 'ovl0.sock')).uid,
          NOBODY,
          'control socket owned by the service user',
        );
        const reload = await lab.exec('a', asService(['reload', '--socket', join(runDir(), 'ovl0.sock')]));
        assert.equal(reload.code, 0, `${reload.stdout}\n${reload.stderr}`);
        assert.match(reload.stdout, /^reloaded \(sha256 [0-9a-f]{12}\)/);
        daemon.kill('SIGTERM');
        const exit = await daemon.exited;
        assert.equal(exit.code, 0, daemon.readLogs());
        assert.match(daemon.readLogs(), /reloaded .*peers\.yaml \(sha256/);
        assert.notEqual((await lab.exec('a', ['ip', 'link', 'show', 'ovl0'])).code, 0, 'ovl0 is gone');
      });
    },
  );
});
