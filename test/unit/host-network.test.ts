// What a gateway or a member changes on its host, against a fake `ip` and `nft` that behave like the
// real tools on the cases that matter: our routes tagged proto 77 and only ours ever deleted, a route the
// operator already has kept (conflict, shown and logged, never replaced), routes someone removed put
// back by the audit, and the masquerade table replaced whole in one transaction and removed at exit.
// The real kernel side is in test/netns/subnet-gateways.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Cidr } from '../../src/config/types.js';
import type { CommandResult, CommandRunner } from '../../src/host/command.js';
import { Masquerade } from '../../src/host/masquerade.js';
import { TunRoutes } from '../../src/host/tun-routes.js';
import { createLogger } from '../../src/log.js';

const LAN: Cidr = { address: '192.168.50.0', prefixLength: 24, family: 4 };
const LAN6: Cidr = { address: 'fd50::', prefixLength: 64, family: 6 };

const ok = (stdout = ''): CommandResult => ({ code: 0, stdout, stderr: '', missing: false });
const fail = (stderr: string): CommandResult => ({ code: 2, stdout: '', stderr, missing: false });

interface Route {
  dst: string;
  dev: string;
  protocol?: string;
  gateway?: string;
  metric?: number;
}

/** A routing table behind `ip [-4|-6] [-j] route add|del|show` (the subset TunRoutes uses). */
function fakeIp(routes: Route[]) {
  const calls: string[] = [];
  const run: CommandRunner = async (argv) => {
    calls.push(argv.join(' '));
    const args = argv.filter((a) => !/^-[46j]$/.test(a)).slice(2); // after "ip route"
    const [verb, ...rest] = args;
    const opt = (k: string) => rest[rest.indexOf(k) + 1];
    if (verb === 'add') {
      const r = { dst: rest[0], dev: opt('dev'), protocol: opt('proto') };
      if (routes.some((x) => x.dst === r.dst && (x.metric ?? 0) === 0))
        return fail('RTNETLINK answers: File exists');
      routes.push(r);
      return ok();
    }
    if (verb === 'del') {
      const i = routes.findIndex(
        (x) => x.dst === rest[0] && x.dev === opt('dev') && x.protocol === opt('proto'),
      );
      if (i < 0) return fail('RTNETLINK answers: No such process');
      routes.splice(i, 1);
      return ok();
    }
    const shown =
      rest[0] === 'exact'
        ? routes.filter((x) => x.dst === rest[1])
        : routes.filter((x) => x.dev === opt('dev') && x.protocol === opt('proto'));
    return ok(JSON.stringify(shown));
  };
  return { run, calls };
}

function logger(lines: string[]) {
  return createLogger('debug', (l) => lines.push(l));
}

describe('routes to member subnets on the TUN', () => {
  it('adds ours tagged proto 77, removes only ours, and puts back what someone deleted', async () => {
    const table: Route[] = [];
    const ip = fakeIp(table);
    const r = new TunRoutes('ovl0', ip.run, logger([]));
    await r.sync([LAN, LAN6]);
    assert.ok(ip.calls.includes('ip -4 route add 192.168.50.0/24 dev ovl0 proto 77'));
    assert.ok(ip.calls.includes('ip -6 route add fd50::/64 dev ovl0 proto 77'));
    assert.deepEqual(r.state('192.168.50.0/24'), { state: 'installed' });

    table.splice(0, 1); // `ip link set ovl0 down` flushes routes, say
    await r.audit();
    assert.equal(table.filter((x) => x.dst === '192.168.50.0/24').length, 1, 'put back');

    table.push({ dst: '10.1.0.0/16', dev: 'ovl0' }); // someone else's route on our device
    await r.removeAll();
    assert.deepEqual(table, [{ dst: '10.1.0.0/16', dev: 'ovl0' }]);
  });

  it('keeps a route the host already has for the subnet, and says so instead of replacing it', async () => {
    const theirs = { dst: '192.168.50.0/24', dev: 'eth1', gateway: '10.0.0.1', metric: 0 };
    const table: Route[] = [theirs];
    const lines: string[] = [];
    const r = new TunRoutes('ovl0', fakeIp(table).run, logger(lines));
    await r.sync([LAN]);
    assert.deepEqual(r.state('192.168.50.0/24'), {
      state: 'conflict',
      detail: 'route 192.168.50.0/24 via 10.0.0.1 dev eth1 metric 0 kept; not routed through the overlay',
    });
    assert.ok(lines.some((l) => / warn .*subnet 192\.168\.50\.0\/24: this host already routes it/.test(l)));
    await r.removeAll();
    assert.deepEqual(table, [theirs], 'never deleted');
  });
});

describe('masquerade table', () => {
  it('replaces the whole table in one nft transaction, and deletes it when no subnet asks', async () => {
    const scripts: string[] = [];
    const m = new Masquerade(
      'ovl0',
      async (argv, input) => {
        assert.deepEqual(argv, ['nft', '-f', '-']);
        scripts.push(input ?? '');
        return ok();
      },
      logger([]),
    );
    await m.sync([LAN]);
    assert.equal(
      scripts[0],
      [
        'table inet overlayd_ovl0',
        'delete table inet overlayd_ovl0',
        'table inet overlayd_ovl0 {',
        '  chain postrouting {',
        '    type nat hook postrouting priority 100; policy accept;',
        '    iifname "ovl0" ip daddr 192.168.50.0/24 masquerade',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
    assert.deepEqual(m.state, { prefixes: ['192.168.50.0/24'] });
    await m.sync([LAN]);
    assert.equal(scripts.length, 1, 'unchanged: no transaction');
    await m.remove();
    assert.equal(scripts[1], 'table inet overlayd_ovl0\ndelete table inet overlayd_ovl0\n');
    assert.deepEqual(m.state, { prefixes: [] });
  });

  it('reports a missing nft as the reason masquerade is off', async () => {
    const lines: string[] = [];
    const m = new Masquerade(
      'ovl0',
      async () => ({ code: null, stdout: '', stderr: 'spawn nft ENOENT', missing: true }),
      logger(lines),
    );
    await m.sync([LAN]);
    assert.deepEqual(m.state, { prefixes: [], error: 'the `nft` command (nftables) is not installed' });
    assert.ok(lines.some((l) => / error .*masquerade for 192\.168\.50\.0\/24 not set/.test(l)));
  });
});
