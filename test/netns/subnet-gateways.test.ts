// Subnet routes on real daemons (issue 13 part 1): a site LAN behind two redundant gateways, reached
// from another site by ssh, and the gateway carrying it stopped mid-session.
//
//        a ──5 ms── b ─┐                    lan (namespace): a bridge br0 with the LAN host's
//         \         │5 ms  lan0 ── br0 ── LAN host 192.168.50.10 (sshd) and 192.168.60.10
//          10 ms    c ─┘
//
// b and c both list 192.168.50.0/24 (redundant gateways); c also lists 192.168.60.0/24 with
// `masquerade: true`. The gateways do what README "Site LANs" tells an operator: IP forwarding on, and
// a return route on the LAN (here the LAN host's own: 10.77.0.0/24 via b) with each gateway falling back
// to the other when its own overlay interface is gone. The LAN site has no uplink: it is reached only
// through the overlay. Every namespace, veth and process belongs to the lab and goes with it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it, type TestContext } from 'node:test';
import { labSkipReason } from '../lab/lab-prereqs.js';
import { closeLab, OVERLAYD_BIN, OverlayLab } from '../lab/overlay-lab.js';
import { sshdSkipReason, startSshd } from '../lab/sshd.js';

const skip = labSkipReason({ latency: true }) || sshdSkipReason();

const LAN = '192.168.50.0/24';
const LAN_HOST = '192.168.50.10';
const MASQ_LAN = '192.168.60.0/24';
const MASQ_HOST = '192.168.60.10';
const LINES = 80;

/** peers.yaml `subnets` of each gateway, added under its entry. */
const SUBNETS: Record<string, string> = {
  b: `[${LAN}]`,
  c: `[${LAN}, { prefix: ${MASQ_LAN}, masquerade: true }]`,
};

/** A CLI output in the test report, one diagnostic per line (a diagnostic cannot hold newlines). */
function show(t: TestContext, title: string, text: string): void {
  t.diagnostic(`--- ${title}`);
  for (const line of text.trimEnd().split('\n')) t.diagnostic(`  ${line}`);
}

function withSubnets(yaml: string): string {
  const out: string[] = [];
  let member = '';
  for (const line of yaml.split('\n')) {
    out.push(line);
    member = /^ {2}- name: (\S+)/.exec(line)?.[1] ?? member;
    if (line.startsWith('    endpoints:') && SUBNETS[member]) out.push(`    subnets: ${SUBNETS[member]}`);
  }
  return out.join('\n');
}

describe(
  'two gateways for one site LAN: an ssh session survives the loss of the one carrying it',
  { skip },
  () => {
    let ol: OverlayLab;
    let sshArgs: string[];

    /** `overlayd <command>` run in site a against its daemon, as an operator would. */
    const cli = (command: 'status' | 'paths'): Promise<string> =>
      ol.lab.execOk('a', [process.execPath, OVERLAYD_BIN, command, '--control', ol.site('a').socket]);

    /** Which gateway a's daemon sends the LAN to. */
    const gatewayAtA = async (): Promise<string | null> =>
      (await ol.status('a')).subnets?.find((s) => s.subnet === LAN)?.gateway ?? null;

    before(async () => {
      ol = await OverlayLab.create({ sites: ['a', 'b', 'c', 'lan'], latency: true });
      const { lab } = ol;
      await lab.linkDown('lan');
      await lab.setLatency('a', 'b', 5);
      await lab.setLatency('a', 'c', 10);
      await lab.setLatency('b', 'c', 5);

      // The LAN: a bridge in its namespace, one veth to each gateway (created in place, never in the host).
      const lanNs = lab.site('lan').ns;
      for (const [gw, addrs] of [
        ['b', ['192.168.50.2/24']],
        ['c', ['192.168.50.3/24', '192.168.60.1/24']],
      ] as const) {
        await lab.execOk(gw, [
          'ip',
          'link',
          'add',
          'lan0',
          'type',
          'veth',
          'peer',
          'name',
          `${gw}0`,
          'netns',
          lanNs,
        ]);
        for (const a of addrs) await lab.execOk(gw, ['ip', 'addr', 'add', a, 'dev', 'lan0']);
        await lab.execOk(gw, ['ip', 'link', 'set', 'lan0', 'up']);
        await lab.execOk(gw, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
      }
      // Each gateway's fallback for the overlay prefix: the other gateway, used only while its own TUN
      // (and with it the kernel's 10.77.0.0/24 route on it) is gone.
      await lab.execOk('b', ['ip', 'route', 'add', '10.77.0.0/24', 'via', '192.168.50.3', 'metric', '1000']);
      await lab.execOk('c', ['ip', 'route', 'add', '10.77.0.0/24', 'via', '192.168.50.2', 'metric', '1000']);
      await lab.execOk('lan', ['ip', 'link', 'add', 'br0', 'type', 'bridge']);
      for (const dev of ['b0', 'c0']) {
        await lab.execOk('lan', ['ip', 'link', 'set', dev, 'master', 'br0']);
        await lab.execOk('lan', ['ip', 'link', 'set', dev, 'up']);
      }
      await lab.execOk('lan', ['ip', 'addr', 'add', `${LAN_HOST}/24`, 'dev', 'br0']);
      await lab.execOk('lan', ['ip', 'addr', 'add', `${MASQ_HOST}/24`, 'dev', 'br0']);
      await lab.execOk('lan', ['ip', 'link', 'set', 'br0', 'up']);
      await lab.execOk('lan', ['ip', 'route', 'add', '10.77.0.0/24', 'via', '192.168.50.2']);

      ol.writePeers(['a', 'b', 'c'], withSubnets);
      for (const s of ['a', 'b', 'c']) ol.start(s);
      await ol.waitConverged(30_000, ['a', 'b', 'c']);
      await lab.waitFor(async () => (await gatewayAtA()) === 'b', {
        timeoutMs: 20_000,
        what: 'a to send the LAN to b (5 ms away, c 10 ms)',
      });

      sshArgs = await startSshd(lab, 'lan', 'a', LAN_HOST);
    });

    after(() => closeLab(ol));

    it('routes both subnets into the overlay at a, and masquerades at c for the subnet asking for it', async () => {
      const routes = await ol.lab.execOk('a', ['ip', 'route', 'show', 'proto', '77']);
      assert.match(routes, /^192\.168\.50\.0\/24 dev ovl0 /m);
      assert.match(routes, /^192\.168\.60\.0\/24 dev ovl0 /m);
      const table = await ol.lab.execOk('c', ['nft', 'list', 'table', 'inet', 'overlayd_ovl0']);
      assert.match(table, /iifname "ovl0" ip daddr 192\.168\.60\.0\/24 masquerade/);
      assert.equal((await ol.lab.exec('b', ['nft', 'list', 'table', 'inet', 'overlayd_ovl0'])).code, 1);
      // The LAN host's replies go to c's LAN address (masquerade) rather than along its route via b, which
      // would carry them to a as b's — refused there, since b is no gateway for 192.168.60.0/24.
      const r = await ol.lab.ping('a', MASQ_HOST, { count: 5, intervalS: 0.2 });
      assert.equal(r.received, 5, `ping ${MASQ_HOST} through c's masquerade`);
    });

    it('keeps an ssh session to a LAN host going when the gateway carrying it stops', async (t: TestContext) => {
      const before = { status: await cli('status'), paths: await cli('paths') };
      const carrying = await gatewayAtA();
      assert.equal(carrying, 'b');
      show(t, 'a before the failover: overlayd status', before.status);
      show(t, 'a before the failover: overlayd paths', before.paths);

      // Each line the LAN host prints is stamped by a when it arrives: the gaps are what a user sees.
      const remote = `for i in $(seq 1 ${LINES}); do echo line $i; sleep 0.1; done; echo done`;
      const quoted = sshArgs.map((a) => `'${a}'`).join(' ');
      const session = ol.lab.spawn(
        'a',
        [
          'bash',
          '-c',
          `${quoted} '${remote}' | while IFS= read -r l; do printf '%s %s\\n' "$EPOCHREALTIME" "$l"; done; exit \${PIPESTATUS[0]}`,
        ],
        { name: 'ssh-session' },
      );
      const out = (): string => readFileSync(session.stdoutPath, 'utf8');
      await ol.lab.waitFor(() => out().includes(' line 20\n'), {
        timeoutMs: 20_000,
        what: 'the ssh session to print its first lines',
      });
      const stopAt = Date.now() / 1000;
      await ol.site(carrying).process!.stop();
      await ol.lab.waitFor(async () => (await gatewayAtA()) === 'c', {
        timeoutMs: 10_000,
        what: 'a to move the LAN to c',
      });
      const movedMs = Math.round((Date.now() / 1000 - stopAt) * 1000);

      const exit = await session.exited;
      assert.equal(exit.code, 0, `ssh exited with ${exit.code}: ${session.readLogs()}`);
      const lines = out()
        .trim()
        .split('\n')
        .map((l) => {
          const [at, ...text] = l.split(' ');
          return { at: Number(at), text: text.join(' ') };
        });
      assert.deepEqual(
        lines.map((l) => l.text),
        [...Array.from({ length: LINES }, (_, i) => `line ${i + 1}`), 'done'],
        'every line, in order, then the end',
      );
      let gap = 0;
      let gapAt = 0;
      for (let i = 1; i < lines.length; i++) {
        const g = lines[i].at - lines[i - 1].at;
        if (g > gap) [gap, gapAt] = [g, i];
      }
      const around = lines.filter((l) => Math.abs(l.at - stopAt) < 1.5).map((l) => l.text);
      t.diagnostic(
        `b stopped; a moved the LAN to c within ${movedMs} ms (polled); largest gap between lines ` +
          `${Math.round(gap * 1000)} ms (before ${lines[gapAt].text}); lines within 1.5 s of the stop: ${around.join(', ')}`,
      );
      assert.ok(gap < 1, `a gap of ${Math.round(gap * 1000)} ms before ${lines[gapAt].text}`);

      const afterStatus = await cli('status');
      const afterPaths = await cli('paths');
      show(t, 'a after the failover: overlayd status', afterStatus);
      show(t, 'a after the failover: overlayd paths', afterPaths);
      assert.match(afterStatus, /^192\.168\.50\.0\/24 +c +b,c /m);
      assert.match(afterPaths, /192\.168\.50\.0\/24: b ⇒ c \((dead|unreachable)\)/);
    });

    it("removes c's masquerade table when c's daemon exits", async () => {
      await ol.site('c').process!.stop();
      const r = await ol.lab.exec('c', ['nft', 'list', 'tables']);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stdout, /overlayd_ovl0/);
    });
  },
);
