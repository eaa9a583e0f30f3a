// The Prometheus exporter, built from real nodes (the in-process cluster over a memory underlay):
// names, labels and values in the exposition text match what the node's components report, the text
// passes promtool's naming checks, a reroute shows up as a new next hop and a counted change, and the
// HTTP server and --metrics parsing fail clearly.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { isOverlayError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { formatListenAddress, parseListenAddress } from '../../src/metrics/listen-address.js';
import { startMetricsServer } from '../../src/metrics/metrics-server.js';
import { buildMetricsRegistry } from '../../src/metrics/registry.js';
import type { OverlayNode } from '../../src/node.js';
import { Cluster, waitFor } from '../e2e/cluster.js';

const PROMTOOL = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((p) => existsSync(p));

interface ExpSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Samples of the Prometheus text format (comments skipped; label values unescaped). */
function parseExposition(text: string): ExpSample[] {
  const out: ExpSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
    }
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

async function scrape(node: OverlayNode, processMetrics = false): Promise<ExpSample[]> {
  return parseExposition(await buildMetricsRegistry(node, { processMetrics }).metrics());
}

function find(samples: ExpSample[], name: string, labels: Record<string, string> = {}): ExpSample[] {
  return samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}

function one(samples: ExpSample[], name: string, labels: Record<string, string>): ExpSample {
  const found = find(samples, name, labels);
  assert.equal(found.length, 1, `${name}${JSON.stringify(labels)}: ${found.length} samples`);
  return found[0];
}

describe('metrics of a real node (three-node cluster)', () => {
  let c: Cluster;
  let a: OverlayNode;
  const id = (name: string): number => c.get(name).node.self.id;

  before(async () => {
    c = await Cluster.create(['a', 'b', 'c']);
    a = c.get('a').node;
    await waitFor(
      () =>
        ['b', 'c'].every(
          (m) => a.router.route(id(m)) && Number.isFinite(a.prober.link(id(m))?.lastReplyAt ?? NaN),
        ),
      10_000,
      'a has routes and RTT samples to b and c',
    );
    await c.deliver('a', 'c', Buffer.from('metrics a->c'));
    await c.deliver('c', 'a', Buffer.from('metrics c->a'));
  });
  after(async () => {
    await c?.close();
  });

  it('labels every sample with the node name and lists only the other members', async () => {
    const samples = await scrape(a, true);
    assert.ok(samples.length > 50);
    for (const s of samples) assert.equal(s.labels.node, 'a', `${s.name} has node="${s.labels.node}"`);
    const members = new Set(find(samples, 'overlay_member_reachable').map((s) => s.labels.member));
    assert.deepEqual([...members].sort(), ['b', 'c']);
    assert.ok(find(samples, 'process_cpu_seconds_total').length === 1, 'standard process metrics are on');
  });

  it('exports the direct link measurements in seconds, matching the prober', async () => {
    const samples = await scrape(a);
    for (const m of ['b', 'c']) {
      const link = a.prober.link(id(m));
      assert.ok(link);
      const rtt = one(samples, 'overlay_member_rtt_seconds', { member: m }).value;
      assert.ok(rtt > 0 && rtt < 1, `rtt to ${m} = ${rtt} s`);
      // The same estimator, read a moment later: equal unless a probe landed in between.
      assert.ok(Math.abs(rtt - link.srttMs / 1000) < 0.05, `rtt ${rtt} s vs srtt ${link.srttMs} ms`);
      const loss = one(samples, 'overlay_member_loss_ratio', { member: m }).value;
      assert.ok(loss >= 0 && loss <= 1);
      assert.equal(one(samples, 'overlay_member_direct_up', { member: m }).value, 1);
      assert.equal(one(samples, 'overlay_member_reachable', { member: m }).value, 1);
      assert.ok(one(samples, 'overlay_member_jitter_seconds', { member: m }).value >= 0);
      assert.ok(one(samples, 'overlay_member_rtt_recent_seconds', { member: m }).value > 0);
    }
    assert.equal(one(samples, 'overlay_session_established', { member: 'c' }).value, 1);
    assert.ok(one(samples, 'overlay_session_age_seconds', { member: 'c' }).value > 0);
  });

  it('exports the path in use as info labels, with its hop count and cost', async () => {
    const samples = await scrape(a);
    for (const m of ['b', 'c']) {
      const route = a.router.route(id(m));
      assert.ok(route);
      const names = route.nodes.map(a.nameOf);
      const info = one(samples, 'overlay_path_info', { destination: m });
      assert.equal(info.value, 1);
      assert.equal(info.labels.path, names.join('>'));
      assert.equal(info.labels.next_hop, names[1]);
      assert.equal(info.labels.hops, String(names.length - 1));
      assert.equal(one(samples, 'overlay_path_hops', { destination: m }).value, names.length - 1);
      assert.ok(one(samples, 'overlay_path_cost_seconds', { destination: m }).value > 0);
      const changes = find(samples, 'overlay_path_changes_total', { destination: m });
      assert.deepEqual(changes.map((s) => s.labels.reason).sort(), ['better', 'dead', 'new', 'unreachable']);
      assert.ok(one(samples, 'overlay_path_changes_total', { destination: m, reason: 'new' }).value >= 1);
    }
  });

  it('reports traffic equal to the data-plane counters', async () => {
    const samples = await scrape(a);
    const t = a.counters.peer(id('c'));
    assert.ok(t.txPackets > 0 && t.rxPackets > 0, 'the cluster carried a→c and c→a');
    assert.equal(one(samples, 'overlay_tx_packets_total', { member: 'c' }).value, t.txPackets);
    assert.equal(one(samples, 'overlay_tx_bytes_total', { member: 'c' }).value, t.txBytes);
    assert.equal(one(samples, 'overlay_rx_packets_total', { member: 'c' }).value, t.rxPackets);
    assert.equal(one(samples, 'overlay_rx_bytes_total', { member: 'c' }).value, t.rxBytes);
    const sent = one(samples, 'overlay_handshakes_total', { result: 'sent' }).value;
    assert.equal(sent, a.counters.handshakesSent);
    const probe = one(samples, 'overlay_control_bytes_total', { kind: 'probe', direction: 'sent' }).value;
    assert.ok(probe > 0 && probe <= a.counters.probeBytesSent);
    assert.ok(one(samples, 'overlay_route_computations_total', {}).value >= 1);
    assert.equal(one(samples, 'overlay_linkstate_links', {}).value, a.router.linkState().length);
  });

  it('exports every drop and handshake-rejection reason, from zero', async () => {
    const samples = await scrape(a);
    const drops = find(samples, 'overlay_rx_dropped_total');
    for (const reason of [
      'auth-failed',
      'replayed',
      'no-route',
      'handshake-rejected',
      'tun-full',
      'wrong-previous-hop',
      'not-local-destination',
    ])
      assert.equal(drops.filter((s) => s.labels.reason === reason).length, 1, reason);
    for (const s of drops) assert.equal(s.value, a.counters.drops.get(s.labels.reason) ?? 0, s.labels.reason);
    assert.equal(one(samples, 'overlay_handshake_rejected_total', { reason: 'bad-mac' }).value, 0);
    // Dropped by the native transport's handshake load step, reported with its batches.
    assert.equal(one(samples, 'overlay_handshake_rejected_total', { reason: 'cookie-filtered' }).value, 0);
    assert.equal(one(samples, 'overlay_endpoint_conflicts_total', {}).value, a.counters.endpointConflicts);
    for (const m of ['b', 'c'])
      assert.equal(one(samples, 'overlay_path_failures_total', { destination: m }).value, 0, m);
  });

  it('exports the routing refusals from zero and the size of every routing table', async () => {
    const samples = await scrape(a);
    for (const reason of ['not-neighbor', 'origin-rate', 'reply-budget', 'request-unanswered', 'replayed'])
      assert.equal(
        one(samples, 'overlay_adverts_rejected_total', { reason }).value,
        a.router.stats().rejected[reason] ?? 0,
        reason,
      );
    const state = a.router.stats().state;
    assert.equal(one(samples, 'overlay_routing_state_entries', { table: 'lsdb' }).value, state.lsdb);
    assert.equal(find(samples, 'overlay_routing_state_entries').length, Object.keys(state).length);
  });

  it('passes promtool check metrics', { skip: PROMTOOL ? false : 'promtool not installed' }, async () => {
    const text = await buildMetricsRegistry(a).metrics();
    const r = spawnSync(PROMTOOL!, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(r.status, 0, `promtool: ${r.stdout}${r.stderr}`);
    assert.equal((r.stdout + r.stderr).trim(), '');
  });

  it(
    'promtool flags a badly named metric (so the check above can fail)',
    { skip: PROMTOOL ? false : 'promtool not installed' },
    () => {
      const bad = '# HELP overlay_rtt_ms RTT.\n# TYPE overlay_rtt_ms counter\noverlay_rtt_ms{member="b"} 3\n';
      const r = spawnSync(PROMTOOL!, ['check', 'metrics'], { input: bad, encoding: 'utf8' });
      assert.notEqual(r.status, 0);
      assert.match(r.stdout + r.stderr, /_total/);
    },
  );

  it('shows a reroute: the next hop changes and the change is counted', async () => {
    const before = await scrape(a);
    const changesBefore = find(before, 'overlay_path_changes_total', { destination: 'c' }).reduce(
      (s, x) => s + x.value,
      0,
    );
    const bName = c.get('b').node;
    c.net.cut(c.get('a').host, c.get('c').host);
    try {
      await waitFor(() => a.router.route(id('c'))?.nodes.length === 3, 10_000, 'a → b → c');
      await c.deliver('a', 'c', Buffer.from('via b, counted'));
      const after = await scrape(a);
      const info = one(after, 'overlay_path_info', { destination: 'c' });
      assert.equal(info.labels.next_hop, 'b');
      assert.equal(info.labels.path, 'a>b>c');
      assert.equal(one(after, 'overlay_path_hops', { destination: 'c' }).value, 2);
      const changesAfter = find(after, 'overlay_path_changes_total', { destination: 'c' }).reduce(
        (s, x) => s + x.value,
        0,
      );
      assert.ok(changesAfter > changesBefore, `path changes to c: ${changesBefore} → ${changesAfter}`);
      const relayed = one(await scrape(bName), 'overlay_relayed_packets_total', { member: 'a' }).value;
      assert.ok(relayed > 0, 'b counts what it relayed for a');
      await waitFor(
        () => a.prober.link(id('c'))?.alive === false,
        10_000,
        'a sees its direct link to c dead',
      );
      const dead = await scrape(a);
      assert.equal(one(dead, 'overlay_member_direct_up', { member: 'c' }).value, 0);
      assert.equal(one(dead, 'overlay_member_reachable', { member: 'c' }).value, 1);
      assert.equal(
        find(dead, 'overlay_member_rtt_seconds', { member: 'c' }).length,
        0,
        'no stale RTT for a dead link',
      );
    } finally {
      c.net.restore(c.get('a').host, c.get('c').host);
    }
  });

  it('says what runs: overlayd_build_info{version}, overlayd_config_info{sha256}, reloads by result', async () => {
    const samples = await scrape(a);
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    assert.equal(one(samples, 'overlayd_build_info', { node: 'a' }).labels.version, pkg.version);
    assert.equal(one(samples, 'overlayd_config_info', { node: 'a' }).labels.sha256, c.config.sha256);
    assert.match(c.config.sha256, /^[0-9a-f]{64}$/);
    const loaded = one(samples, 'overlayd_config_loaded_timestamp_seconds', {}).value;
    assert.ok(Math.abs(loaded - Date.now() / 1000) < 600, `loaded at ${loaded}`);
    const before = one(samples, 'overlayd_config_reloads_total', { result: 'applied' }).value;
    a.reload(c.config);
    const after = await scrape(a);
    assert.equal(one(after, 'overlayd_config_reloads_total', { result: 'applied' }).value, before + 1);
    assert.equal(one(after, 'overlayd_config_reloads_total', { result: 'rejected' }).value, 0);
    assert.equal(one(after, 'overlayd_escaped_errors_total', {}).value, 0);
  });

  it('stops exporting a member that a reload removed', async () => {
    a.reload({ ...c.config, peers: c.config.peers.filter((p) => p.name !== 'b') });
    const samples = await scrape(a);
    assert.equal(find(samples, 'overlay_member_reachable', { member: 'b' }).length, 0);
    assert.equal(find(samples, 'overlay_tx_bytes_total', { member: 'b' }).length, 0);
    assert.equal(find(samples, 'overlay_path_changes_total', { destination: 'b' }).length, 0);
    assert.equal(find(samples, 'overlay_member_reachable', { member: 'c' }).length, 1);
  });
});

describe('metrics HTTP server', () => {
  let c: Cluster;
  before(async () => {
    c = await Cluster.create(['solo', 'other']);
  });
  after(async () => {
    await c?.close();
  });

  it('serves /metrics in the Prometheus text format, a page at /, and 404 elsewhere', async () => {
    const server = await startMetricsServer(c.get('solo').node, { host: '127.0.0.1', port: 0 }, silentLogger);
    try {
      const base = `http://${server.address}`;
      const res = await fetch(`${base}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      const body = await res.text();
      assert.match(body, /^overlay_member_direct_up\{member="other",node="solo"\} [01]$/m);
      assert.match(body, /^process_resident_memory_bytes\{node="solo"\} \d+/m);
      assert.match(await (await fetch(`${base}/`)).text(), /\/metrics/);
      assert.equal((await fetch(`${base}/nope`)).status, 404);
      assert.equal((await fetch(`${base}/metrics`, { method: 'POST' })).status, 405);
    } finally {
      await server.close();
    }
  });

  it('fails with a clear usage error when the port is in use, and frees the port on close', async () => {
    const first = await startMetricsServer(c.get('solo').node, { host: '127.0.0.1', port: 0 }, silentLogger);
    const { port } = parseListenAddress(first.address);
    await assert.rejects(
      startMetricsServer(c.get('other').node, { host: '127.0.0.1', port }, silentLogger),
      (err: unknown) =>
        isOverlayError(err, 'ERR_USAGE') && /in use/.test(err.message) && err.message.includes(`:${port}`),
    );
    await first.close();
    const again = await startMetricsServer(c.get('other').node, { host: '127.0.0.1', port }, silentLogger);
    await again.close();
  });

  it('listens on IPv6 loopback with a bracketed address', { skip: ipv6LoopbackSkip() }, async () => {
    const server = await startMetricsServer(c.get('solo').node, parseListenAddress('[::1]:0'), silentLogger);
    try {
      assert.match(server.address, /^\[::1\]:\d+$/);
      assert.equal((await fetch(`http://${server.address}/metrics`)).status, 200);
    } finally {
      await server.close();
    }
  });

  it('refuses an address that is not on this host', async () => {
    await assert.rejects(
      startMetricsServer(c.get('solo').node, { host: '192.0.2.77', port: 0 }, silentLogger),
      (err: unknown) => isOverlayError(err, 'ERR_USAGE') && /not on this host/.test(err.message),
    );
  });
});

describe('--metrics HOST:PORT', () => {
  it('accepts IPv4, bracketed IPv6 and host names', () => {
    assert.deepEqual(parseListenAddress('127.0.0.1:9477'), { host: '127.0.0.1', port: 9477 });
    assert.deepEqual(parseListenAddress('[::1]:9477'), { host: '::1', port: 9477 });
    assert.deepEqual(parseListenAddress('[fd77::1]:80'), { host: 'fd77::1', port: 80 });
    assert.deepEqual(parseListenAddress('localhost:9477'), { host: 'localhost', port: 9477 });
    assert.equal(formatListenAddress({ host: 'fd77::1', port: 9477 }), '[fd77::1]:9477');
    assert.equal(formatListenAddress({ host: '10.77.0.1', port: 9477 }), '10.77.0.1:9477');
  });

  for (const [bad, why] of [
    ['9477', /no port/],
    ['127.0.0.1', /no port/],
    [':9477', /no host/],
    ['::1:9477', /brackets/],
    ['[::1]', /expected HOST:PORT/],
    ['[10.0.0.1]:80', /not an IPv6/],
    ['127.0.0.1:http', /not a number/],
    ['127.0.0.1:70000', /out of range/],
    ['bad_host!:80', /not an address or host name/],
  ] as const) {
    it(`rejects ${JSON.stringify(bad)} with a usage error`, () => {
      assert.throws(
        () => parseListenAddress(bad),
        (err: unknown) => isOverlayError(err, 'ERR_USAGE') && why.test(err.message),
      );
    });
  }
});

function ipv6LoopbackSkip(): string | false {
  const addresses = Object.values(networkInterfaces()).flatMap((list) => list ?? []);
  return addresses.some((i) => i.address === '::1') ? false : 'no IPv6 loopback here';
}
