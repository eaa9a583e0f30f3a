// The Grafana dashboard, proven without Grafana: three real daemons export metrics on their overlay
// addresses, a real Prometheus in site a scrapes all three THROUGH the overlay (every second), and
// every panel query of deploy/grafana/overlayd.json — template variables substituted as Grafana would
// — must parse and return data. Then a cut link must show on the dashboard: a counted path change and
// the next hop to c moving from c to b. The alert rules are loaded too and must evaluate cleanly.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { labSkipReason } from '../lab/lab-prereqs.js';
import type { LabProcess } from '../lab/lab.js';
import { OverlayLab } from '../lab/overlay-lab.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DASHBOARD = `${ROOT}deploy/grafana/overlayd.json`;
const RULES = `${ROOT}deploy/prometheus/overlayd-rules.yml`;
const PROMETHEUS = '/usr/bin/prometheus';
const METRICS_PORT = 9477;
/** Prometheus listens on loopback inside site a's namespace: nothing outside the lab can reach it. */
const PROM = 'http://127.0.0.1:9090';

/** What Grafana would put in for its variables when showing node a with a 1 s scrape interval. */
const VARIABLES: Record<string, string> = {
  node: 'a',
  __rate_interval: '15s',
  __interval: '5s',
  __range: '1m',
  datasource: 'prometheus',
};

const skip =
  labSkipReason() ||
  (existsSync(PROMETHEUS) ? false : `${PROMETHEUS} not installed (apt-get install prometheus)`);

interface PanelTarget {
  panel: string;
  refId: string;
  expr: string;
}

function dashboardTargets(): PanelTarget[] {
  interface Panel {
    title?: string;
    type: string;
    targets?: Array<{ refId: string; expr: string }>;
    panels?: Panel[];
  }
  const walk = (panels: Panel[]): Panel[] => panels.flatMap((p) => [p, ...walk(p.panels ?? [])]);
  const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: Panel[] };
  return walk(dash.panels).flatMap((p) =>
    (p.targets ?? []).map((t) => ({ panel: p.title ?? '?', refId: t.refId, expr: substitute(t.expr) })),
  );
}

/** Grafana's `$name` and `${name}` forms. `$1` (label_replace's capture group) is not a variable. */
function substitute(expr: string): string {
  const out = expr.replace(/\$\{(\w+)\}|\$([a-zA-Z_]\w*)/g, (whole, braced?: string, bare?: string) => {
    const name = braced ?? bare ?? '';
    if (!(name in VARIABLES)) throw new Error(`unknown template variable ${whole} in ${expr}`);
    return VARIABLES[name];
  });
  return out;
}

interface PromReply {
  status: 'success' | 'error';
  errorType?: string;
  error?: string;
  data?: unknown;
}
interface VectorSample {
  metric: Record<string, string>;
  value: [number, string];
}

// Runs in site a's namespace (where Prometheus listens): GETs each path, prints the JSON replies.
const FETCH_ALL = `
const { base, paths } = JSON.parse(require('fs').readFileSync(0, 'utf8'));
(async () => {
  const out = [];
  for (const p of paths) {
    try { out.push(await (await fetch(base + p, { signal: AbortSignal.timeout(5000) })).json()); }
    catch (e) { out.push({ status: 'error', errorType: 'fetch', error: String(e) }); }
  }
  process.stdout.write(JSON.stringify(out));
})();`;

describe(
  'overlayd.json against a real Prometheus scraping three daemons over the overlay',
  { skip, timeout: 120_000 },
  () => {
    let ol: OverlayLab;
    let prom: LabProcess | undefined;
    let failed = false;

    const api = async (paths: string[]): Promise<PromReply[]> => {
      const out = await ol.lab.execOk('a', [process.execPath, '-e', FETCH_ALL], {
        input: JSON.stringify({ base: PROM, paths }),
        timeoutMs: 60_000,
      });
      return JSON.parse(out) as PromReply[];
    };
    const query = (expr: string): string => `/api/v1/query?query=${encodeURIComponent(expr)}`;
    const vector = async (expr: string): Promise<VectorSample[]> => {
      const [r] = await api([query(expr)]);
      if (r.status !== 'success') throw new Error(`${expr}: ${r.errorType} ${r.error}`);
      return (r.data as { result: VectorSample[] }).result;
    };

    before(async () => {
      ol = await OverlayLab.create({ sites: ['a', 'b', 'c'], logLevel: 'info' });
      // b is the gateway of a site LAN, so the subnet panels have data too.
      ol.writePeers(undefined, (yaml) =>
        yaml.replace(
          /( {2}- name: b\n(?: {4}.*\n)*? {4}endpoints: .*\n)/,
          '$1    subnets: [192.168.50.0/24]\n',
        ),
      );
      for (const site of ['a', 'b', 'c'])
        ol.start(site, ['--metrics', `${ol.addressOf(site)}:${METRICS_PORT}`]);
      await ol.waitConverged(20_000);

      const dir = ol.lab.path('prometheus');
      mkdirSync(`${dir}/data`, { recursive: true });
      const targets = ['a', 'b', 'c'].map((s) => `'${ol.addressOf(s)}:${METRICS_PORT}'`).join(', ');
      writeFileSync(
        `${dir}/prometheus.yml`,
        [
          'global:',
          '  scrape_interval: 1s',
          '  scrape_timeout: 900ms',
          '  evaluation_interval: 1s',
          'rule_files:',
          `  - ${RULES}`,
          'scrape_configs:',
          '  - job_name: overlayd',
          `    static_configs: [{ targets: [${targets}] }]`,
          '',
        ].join('\n'),
      );
      prom = ol.lab.spawn(
        'a',
        [
          PROMETHEUS,
          `--config.file=${dir}/prometheus.yml`,
          `--storage.tsdb.path=${dir}/data`,
          '--storage.tsdb.retention.time=1h',
          '--web.listen-address=127.0.0.1:9090',
          '--log.level=warn',
        ],
        { name: 'prometheus' },
      );
      await ol.lab.waitFor(
        async () => {
          if (!prom?.isAlive()) throw new Error(`prometheus exited:\n${prom?.readLogs()}`);
          const up = await vector('up{job="overlayd"} == 1');
          return up.length === 3;
        },
        { timeoutMs: 30_000, intervalMs: 500, what: 'Prometheus scraping a, b and c over the overlay' },
      );
    });

    after(async () => {
      if (failed) process.stderr.write(ol?.lab.logTails(30) ?? '');
      await prom?.stop();
      await ol?.destroy();
    });

    it('runs every panel query of the dashboard for node a: valid PromQL, non-empty result', async (t) => {
      const targets = dashboardTargets();
      assert.ok(targets.length >= 30, `${targets.length} targets`);
      // Syntax errors never fix themselves (reported at once); empty results may be data not yet there.
      let syntax: string[] = [];
      let empty: string[] = [];
      const check = async (): Promise<boolean> => {
        const replies = await api(targets.map((x) => query(x.expr)));
        syntax = [];
        empty = [];
        replies.forEach((r, i) => {
          const where = `"${targets[i].panel}" ${targets[i].refId}: ${targets[i].expr}`;
          if (r.status !== 'success')
            (r.errorType === 'bad_data' ? syntax : empty).push(`${where}\n  → ${r.errorType}: ${r.error}`);
          else if ((r.data as { result: unknown[] }).result.length === 0)
            empty.push(`${where}\n  → empty result`);
        });
        return syntax.length > 0 || empty.length === 0;
      };
      // rate() and increase() need two samples inside [15s]; the first scrapes are a few seconds old.
      try {
        await ol.lab.waitFor(check, {
          timeoutMs: 30_000,
          intervalMs: 1000,
          what: 'every dashboard query to return data',
        });
      } catch {
        // reported below with the queries that are still empty
      }
      if (syntax.length > 0 || empty.length > 0) failed = true;
      assert.deepEqual(syntax, [], `PromQL errors:\n${syntax.join('\n')}`);
      assert.deepEqual(empty, [], `no data after 30 s:\n${empty.join('\n')}`);
      t.diagnostic(`${targets.length} panel queries ok`);
    });

    it('finds every site for the node variable (label_values(overlay_path_info, node))', async () => {
      // Grafana turns label_values(metric, label) into this API call.
      const [r] = await api([`/api/v1/label/node/values?match[]=${encodeURIComponent('overlay_path_info')}`]);
      assert.equal(r.status, 'success');
      assert.deepEqual(r.data, ['a', 'b', 'c']);
    });

    it('evaluates the alert rules on live data without errors', async () => {
      await ol.lab.waitFor(
        async () => {
          const [r] = await api(['/api/v1/rules']);
          const rules = (
            r.data as {
              groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }>;
            }
          ).groups.flatMap((g) => g.rules);
          const bad = rules.filter((x) => x.health !== 'ok');
          if (bad.some((x) => x.health === 'err')) throw new Error(JSON.stringify(bad));
          return rules.length >= 4 && bad.length === 0;
        },
        { timeoutMs: 10_000, intervalMs: 500, what: 'every alert rule evaluated with health ok' },
      );
    });

    it('shows a cut link: the path change is counted and the next hop to c moves from c to b', async () => {
      const info = 'overlay_path_info{node="a",destination="c"}';
      const changes = 'sum(overlay_path_changes_total{node="a",destination="c"})';
      const nextHop = async (): Promise<string | undefined> => (await vector(info))[0]?.metric.next_hop;
      await ol.lab.waitFor(async () => (await nextHop()) === 'c', {
        timeoutMs: 20_000,
        intervalMs: 500,
        what: 'Prometheus to see a reach c directly',
      });
      const before = Number((await vector(changes))[0].value[1]);

      await ol.lab.cut('a', 'c');
      try {
        await ol.lab.waitFor(async () => (await nextHop()) === 'b', {
          timeoutMs: 20_000,
          intervalMs: 500,
          what: 'Prometheus to see a reach c via b',
        });
      } catch (err) {
        failed = true;
        throw err;
      }
      const [sample] = await vector(info);
      assert.equal(sample.metric.path, 'a>b>c');
      assert.equal(sample.metric.hops, '2');
      const afterCut = Number((await vector(changes))[0].value[1]);
      assert.ok(
        afterCut > before,
        `overlay_path_changes_total{node="a",destination="c"}: ${before} → ${afterCut}`,
      );

      // And the dashboard's own panels show it.
      const panel = (title: string): string => {
        const t = dashboardTargets().find((x) => x.panel === title);
        assert.ok(t, `panel ${title}`);
        return t.expr;
      };
      const hops = await vector(panel('Next hop per destination'));
      assert.ok(hops.some((s) => s.metric.destination === 'c' && s.metric.next_hop === 'b'));
      const recent = await vector(panel('Path changes'));
      assert.ok(
        recent.some((s) => s.metric.destination === 'c' && Number(s.value[1]) > 0),
        JSON.stringify(recent),
      );
    });
  },
);
