// The files in deploy/ are checked by the tools that will read them: systemd-analyze for the unit,
// promtool for the Prometheus config and alert rules (including the rules' own unit tests), and a
// structural check of the Grafana dashboard. Every metric a dashboard panel or an alert names must be
// one the exporter really produces: PromQL accepts a misspelt name and just returns nothing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { buildMetricsRegistry } from '../../src/metrics/registry.js';
import { Cluster } from '../e2e/cluster.js';

// dist/test/unit/ → the package root.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const UNIT = join(ROOT, 'deploy/systemd/overlayd.service');
const PROM_DIR = join(ROOT, 'deploy/prometheus');
const DASHBOARD = join(ROOT, 'deploy/grafana/overlayd.json');
const README = join(ROOT, 'deploy/README.md');
const BIN = join(ROOT, 'bin/overlayd.js');

const which = (names: string[]): string | undefined => names.find((p) => existsSync(p));
const SYSTEMD_ANALYZE = which(['/usr/bin/systemd-analyze', '/bin/systemd-analyze']);
const PROMTOOL = which(['/usr/bin/promtool', '/usr/local/bin/promtool']);

/** `[Section] Key=Value` lines of a unit file; a key may repeat. */
function parseUnit(text: string): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s) {
      section = s[1];
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(eq > 0, `not a key=value line: ${line}`);
    const key = `${section}.${line.slice(0, eq)}`;
    keys.set(key, [...(keys.get(key) ?? []), line.slice(eq + 1)]);
  }
  return keys;
}

/** The unit as shipped, its commands running this checkout's CLI (verify wants the binaries to exist). */
function checkoutUnit(): string {
  const text = readFileSync(UNIT, 'utf8').replace(
    /^(ExecStart|ExecStartPre|ExecReload)=\/usr\/local\/bin\/overlayd /gm,
    `$1=${process.execPath} ${BIN} `,
  );
  assert.equal((text.match(new RegExp(BIN.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'g')) ?? []).length, 3);
  return text;
}

function run(cmd: string, args: string[], opts: { cwd?: string } = {}): { code: number | null; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000, ...opts });
  return { code: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

describe('systemd unit', () => {
  const unit = parseUnit(readFileSync(UNIT, 'utf8'));
  const one = (key: string): string => {
    const v = unit.get(key);
    assert.ok(v && v.length === 1, `${key}: ${JSON.stringify(v)}`);
    return v[0];
  };
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'overlayd-unit-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('runs overlayd up with the site files, as a dedicated user holding CAP_NET_ADMIN only', () => {
    const exec = one('Service.ExecStart');
    assert.match(exec, /^\/\S*overlayd up --peers \/etc\/overlayd\/peers\.yaml --key \/etc\/overlayd\/key /);
    assert.match(exec, /--control \/run\/overlayd\//, 'control socket inside RuntimeDirectory');
    assert.equal(one('Service.RuntimeDirectory'), 'overlayd');
    assert.equal(one('Service.User'), 'overlayd');
    assert.equal(one('Service.AmbientCapabilities'), 'CAP_NET_ADMIN');
    assert.equal(one('Service.CapabilityBoundingSet'), 'CAP_NET_ADMIN');
    assert.equal(one('Service.DeviceAllow'), '/dev/net/tun rw');
    assert.ok(unit.has('Service.RestartSec'));
    assert.equal(one('Service.ReadOnlyPaths'), '/etc/overlayd');
    assert.equal(one('Service.SystemCallFilter'), '@system-service');
    assert.deepEqual(one('Service.RestrictAddressFamilies').split(/\s+/).sort(), [
      'AF_INET',
      'AF_INET6',
      'AF_NETLINK',
      'AF_UNIX',
    ]);
    for (const key of [
      'NoNewPrivileges',
      'ProtectHome',
      'PrivateTmp',
      'ProtectKernelTunables',
      'ProtectKernelModules',
      'ProtectKernelLogs',
      'ProtectControlGroups',
      'RestrictNamespaces',
      'LockPersonality',
    ])
      assert.equal(one(`Service.${key}`), 'yes', key);
    assert.equal(one('Service.ProtectSystem'), 'strict');
    // V8's JIT needs writable-then-executable memory; with this set Node aborts at start.
    assert.ok(!unit.has('Service.MemoryDenyWriteExecute'), 'MemoryDenyWriteExecute must stay off');
    assert.equal(unit.has('Service.PrivateDevices'), false, 'PrivateDevices would hide /dev/net/tun');
  });

  it('checks the config before starting, reloads through the CLI, and restarts only when that can help', () => {
    assert.equal(
      one('Service.ExecStartPre'),
      '/usr/local/bin/overlayd check --peers /etc/overlayd/peers.yaml --key /etc/overlayd/key',
    );
    assert.equal(
      one('Service.ExecReload'),
      '/usr/local/bin/overlayd reload --socket /run/overlayd/ovl0.sock',
    );
    assert.match(
      one('Service.ExecStart'),
      /--control \/run\/overlayd\/ovl0\.sock /,
      'the socket ExecReload asks',
    );
    // Restart=on-failure would loop on a config error caught by ExecStartPre (RestartPreventExitStatus
    // only sees the main process); on-abnormal plus forced 1 and 70 restarts exactly what may pass.
    assert.equal(one('Service.Restart'), 'on-abnormal');
    assert.deepEqual(one('Service.RestartForceExitStatus').split(' '), ['1', '70']);
    assert.deepEqual(one('Service.RestartPreventExitStatus').split(' '), ['2', '77', '78']);
  });

  it('makes the socket directory with the mode the READMEs state, which the daemon accepts', () => {
    assert.equal(one('Service.RuntimeDirectoryMode'), '0700');
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    assert.match(readme, /mode 0600 in a\s+0700 directory/);
    assert.match(readFileSync(README, 'utf8'), /`\/run\/overlayd` \(mode 0700/);
  });

  it(
    'passes systemd-analyze verify (its commands pointed at this checkout)',
    { skip: SYSTEMD_ANALYZE ? false : 'systemd-analyze not installed' },
    () => {
      // verify insists the ExecStart binary exists; on a build machine /usr/local/bin/overlayd does not,
      // so a copy runs the checkout's CLI under this node instead. Everything else is the file as shipped.
      const text = checkoutUnit();
      assert.match(
        text,
        new RegExp(`^ExecStart=${process.execPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} `, 'm'),
      );
      const copy = join(dir, 'overlayd.service');
      writeFileSync(copy, text);
      const r = run(SYSTEMD_ANALYZE!, ['verify', copy]);
      assert.equal(r.code, 0, r.out);
      // verify only warns about unknown or misspelt keys; any output at all is a problem in the unit.
      assert.equal(r.out.trim(), '', r.out);
    },
  );

  it(
    'verify would catch a misspelt key (so the check above can fail)',
    { skip: SYSTEMD_ANALYZE ? false : 'systemd-analyze not installed' },
    () => {
      const bad = join(dir, 'bad.service');
      writeFileSync(bad, `[Service]\nExecStart=${process.execPath} ${BIN} --help\nProtectSystm=strict\n`);
      assert.match(run(SYSTEMD_ANALYZE!, ['verify', bad]).out, /Unknown key/);
    },
  );

  it(
    'keeps the sandbox exposure score at 3.0 or below (systemd-analyze security)',
    { skip: SYSTEMD_ANALYZE ? false : 'systemd-analyze not installed' },
    (t) => {
      const copy = join(dir, 'overlayd.service');
      writeFileSync(copy, checkoutUnit());
      // --threshold is on the 0..100 scale behind the printed 0.0..10.0 score.
      const r = run(SYSTEMD_ANALYZE!, ['security', '--offline=yes', '--threshold=30', copy]);
      if (/unrecognized option|Unknown option/i.test(r.out))
        return t.skip('this systemd-analyze has no --offline');
      const score = /Overall exposure level for \S+: ([\d.]+)/.exec(r.out);
      assert.ok(score, r.out);
      assert.equal(r.code, 0, `exposure ${score[1]} is above 3.0`);
    },
  );

  it('ExecStartPre and ExecReload pass flags the CLI accepts', () => {
    const argv = (key: string): string[] =>
      one(key)
        .split(/\s+/)
        .slice(1)
        .map((a) =>
          a
            .replace('/etc/overlayd/peers.yaml', join(dir, 'absent-peers.yaml'))
            .replace('/run/overlayd/ovl0.sock', join(dir, 'absent.sock')),
        );
    const check = run(process.execPath, [BIN, ...argv('Service.ExecStartPre')]);
    assert.equal(check.code, 78, check.out);
    assert.match(check.out, /cannot read .*absent-peers\.yaml: no such file/);
    const reload = run(process.execPath, [BIN, ...argv('Service.ExecReload')]);
    assert.equal(reload.code, 1, reload.out);
    assert.match(reload.out, /overlayd is not running \(no control socket at .*absent\.sock\)/);
  });

  it('ExecStart passes flags the CLI accepts', () => {
    // The real command line, with paths that do not exist here: the daemon must stop at "cannot read
    // peers.yaml", which proves every flag before it parsed (an unknown one exits 2 first).
    const argv = one('Service.ExecStart')
      .replace(/\$OVERLAYD_ARGS/, '--metrics 127.0.0.1:9477')
      .split(/\s+/)
      .slice(1)
      .map((a) => a.replace('/etc/overlayd/peers.yaml', join(dir, 'absent-peers.yaml')));
    const r = run(process.execPath, [BIN, ...argv]);
    if (process.getuid?.() === 0) {
      assert.equal(r.code, 78, r.out); // EX_CONFIG: RestartPreventExitStatus stops a restart loop
      assert.match(r.out, /cannot read .*absent-peers\.yaml: no such file/);
    } else {
      // Without CAP_NET_ADMIN `up` stops one step earlier, still after every flag parsed.
      assert.equal(r.code, 77, r.out);
      assert.match(r.out, /overlayd up needs root or CAP_NET_ADMIN/);
    }
  });
});

describe('Prometheus config and rules', { skip: PROMTOOL ? false : 'promtool not installed' }, () => {
  it('promtool check config accepts the example prometheus.yml (and the rule file it loads)', () => {
    const r = run(PROMTOOL!, ['check', 'config', 'prometheus.yml'], { cwd: PROM_DIR });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /SUCCESS: 1 rule files found/);
  });

  it('promtool check rules accepts overlayd-rules.yml', () => {
    const r = run(PROMTOOL!, ['check', 'rules', 'overlayd-rules.yml'], { cwd: PROM_DIR });
    assert.equal(r.code, 0, r.out);
  });

  it('the alerts fire on the example series (promtool test rules)', () => {
    const r = run(PROMTOOL!, ['test', 'rules', 'overlayd-rules.test.yml'], { cwd: PROM_DIR });
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /SUCCESS/);
  });
});

interface Target {
  expr?: string;
  refId?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id?: number;
  type: string;
  title?: string;
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  uid?: string;
  schemaVersion?: number;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query?: unknown; definition?: string }> };
}

/** Every panel, rows' nested panels included. */
function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

/** Metric names a PromQL expression or the README mentions (ours and the standard process ones). */
function metricNames(text: string): string[] {
  return [...new Set(text.match(/\b(?:overlayd?|process|nodejs)_[a-z0-9_]+\b/g) ?? [])];
}

describe('Grafana dashboard', () => {
  const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
  const panels = allPanels(dash.panels);
  const queryPanels = panels.filter((p) => p.type !== 'row');
  let exported: Set<string>;

  before(async () => {
    // The names a real node exports, with the standard process metrics the dashboard also uses.
    const c = await Cluster.create(['x', 'y']);
    try {
      const text = await buildMetricsRegistry(c.get('x').node).metrics();
      // From the TYPE lines (a metric with no samples yet still has one); a histogram's series are
      // named <name>_bucket, _sum and _count.
      exported = new Set();
      for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
        exported.add(name);
        if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exported.add(name + s);
      }
    } finally {
      await c.close();
    }
  });

  it('is a Grafana 10+ dashboard with a unique uid and unique panel ids', () => {
    assert.ok((dash.schemaVersion ?? 0) >= 38, `schemaVersion ${dash.schemaVersion}`);
    assert.equal(dash.uid, 'overlayd');
    const ids = panels.map((p) => p.id);
    assert.ok(ids.every((id) => typeof id === 'number'));
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
    for (const p of panels) {
      assert.ok(p.gridPos && p.gridPos.x + p.gridPos.w <= 24, `${p.title}: fits the 24-column grid`);
    }
  });

  it('has a datasource variable and a node variable from label_values(overlay_path_info, node)', () => {
    const vars = new Map(dash.templating.list.map((v) => [v.name, v]));
    assert.equal(vars.get('datasource')?.type, 'datasource');
    const node = vars.get('node');
    assert.equal(node?.type, 'query');
    assert.equal(node?.definition, 'label_values(overlay_path_info, node)');
    assert.deepEqual((node?.query as { query?: string }).query, 'label_values(overlay_path_info, node)');
  });

  it('gives every panel targets with an expression on the datasource variable', () => {
    assert.ok(queryPanels.length >= 12, `${queryPanels.length} panels`);
    for (const p of queryPanels) {
      assert.ok(p.targets && p.targets.length > 0, `${p.title}: has targets`);
      const refIds = p.targets.map((t) => t.refId);
      assert.equal(new Set(refIds).size, refIds.length, `${p.title}: refIds unique`);
      for (const t of p.targets) {
        assert.ok(t.expr && t.expr.trim() !== '', `${p.title}/${t.refId}: expr`);
        assert.equal(t.datasource?.uid, '${datasource}', `${p.title}/${t.refId}: datasource`);
        if (
          t.expr.includes('{') &&
          /overlay_/.test(t.expr) &&
          !/RTT matrix|Loss matrix/.test(p.title ?? '')
        ) {
          assert.match(t.expr, /node="\$node"/, `${p.title}/${t.refId}: filtered by the node variable`);
        }
      }
    }
  });

  it('names only metrics the exporter produces', () => {
    for (const p of queryPanels) {
      for (const t of p.targets ?? []) {
        for (const name of metricNames(t.expr ?? ''))
          assert.ok(exported.has(name), `${p.title}: ${name} is not exported`);
      }
    }
  });

  it('the alert rules name only metrics the exporter produces', () => {
    const rules = readFileSync(join(PROM_DIR, 'overlayd-rules.yml'), 'utf8');
    const exprs = [...rules.matchAll(/^\s*expr: (.*)$/gm)].map((m) => m[1]).join('\n');
    const names = metricNames(exprs);
    assert.ok(names.length >= 4);
    for (const name of names) assert.ok(exported.has(name), `${name} is not exported`);
  });

  it('deploy/README.md documents every overlay_* and overlayd_* metric and every panel', () => {
    const readme = readFileSync(README, 'utf8');
    assert.ok(exported.has('overlayd_build_info'));
    for (const name of exported)
      if (/^overlayd?_/.test(name)) assert.ok(readme.includes(`\`${name}\``), `${name} missing`);
    for (const p of queryPanels) assert.ok(readme.includes(p.title ?? '?'), `panel "${p.title}" missing`);
  });
});
