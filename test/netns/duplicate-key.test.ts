// Duplicate key (a cloned VM): two real daemons hold c's private key, at two underlay addresses.
// a must notice — c's handshakes come from both addresses in turn — say so loudly in its log (an
// error line naming both addresses), count it (overlay_duplicate_key_suspected_total), and show it in
// `overlayd status`; the endpoint moving to the newcomer is logged old → new, not done silently.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { parseEvent } from '../../src/log.js';
import { labSkipReason } from '../lab/lab-prereqs.js';
import { closeLab, OVERLAY_PORT, OverlayLab } from '../lab/overlay-lab.js';

const skip = labSkipReason();

describe('two daemons with the same private key', { skip }, () => {
  let ol: OverlayLab;

  before(async () => {
    // clone: a fourth machine that is not in peers.yaml and runs with c's key file (as a cloned VM).
    ol = await OverlayLab.create({ sites: ['a', 'b', 'c', 'clone'], logLevel: 'info', ipv6: false });
    ol.writePeers(['a', 'b', 'c']);
    ol.site('clone').keyFile = ol.site('c').keyFile;
    for (const s of ['a', 'b', 'c']) ol.start(s);
    await ol.waitConverged(20_000, ['a', 'b', 'c']);
  });

  after(() => closeLab(ol));

  const events = (site: string, name: string) =>
    readFileSync(ol.site(site).process!.stderrPath, 'utf8')
      .split('\n')
      .map((line) => ({ line, e: parseEvent(line) }))
      .filter((x) => x.e?.event === name);

  it('is detected at a: logged loudly with both addresses, counted, shown in status', async () => {
    const cAddr = `${ol.lab.addressOf('c', 4)}:${OVERLAY_PORT}`;
    const cloneAddr = `${ol.lab.addressOf('clone', 4)}:${OVERLAY_PORT}`;
    // Both UDP addresses, and nothing from any other host. c may also have dialled a over ws while
    // its UDP replies went to the clone (a ws://c-host:ephemeral-port source): the same machine.
    const hostOf = (address: string): string => address.replace(/^ws:\/\//, '').replace(/:\d+$/, '');
    const assertBothHosts = (addresses: string[]): void => {
      assert.ok(addresses.includes(cAddr) && addresses.includes(cloneAddr), addresses.join(', '));
      assert.deepEqual(new Set(addresses.map(hostOf)), new Set([cAddr, cloneAddr].map(hostOf)));
    };
    ol.start('clone');
    try {
      await ol.lab.waitFor(async () => events('a', 'duplicate-key-suspected').length > 0, {
        timeoutMs: 60_000,
        intervalMs: 500,
        what: 'a to log duplicate-key-suspected',
      });
    } catch (err) {
      const log = readFileSync(ol.site('a').process!.stderrPath, 'utf8').split('\n');
      process.stderr.write(
        log
          .filter((l) => /member=c\b/.test(l))
          .slice(-40)
          .join('\n') + '\n',
      );
      process.stderr.write(
        readFileSync(ol.site('clone').process!.stderrPath, 'utf8').split('\n').slice(-30).join('\n'),
      );
      throw err;
    }
    const [{ line, e }] = events('a', 'duplicate-key-suspected');
    assert.match(line, / error DUPLICATE KEY suspected for c: /);
    assert.equal(e?.fields.member, 'c');
    assertBothHosts(e?.fields.addresses.split(',') ?? []);

    // The endpoint moving to the newcomer is not silent either: logged old → new. The old one is c's
    // host, over UDP or over the ws link c dials once its UDP probes go unanswered (the clone holds
    // the session): which of the two a was using when the clone took over is a race.
    await ol.lab.waitFor(
      async () =>
        events('a', 'endpoint-changed').some(
          (x) =>
            x.e?.fields.member === 'c' &&
            hostOf(x.e.fields.from) === hostOf(cAddr) &&
            x.e.fields.to === cloneAddr,
        ),
      { timeoutMs: 20_000, intervalMs: 250, what: 'endpoint-changed member=c from c to the clone' },
    );
    const status = await ol.status('a');
    const c = status.members.find((m) => m.name === 'c');
    assert.ok(c?.duplicateKeySuspected, JSON.stringify(c));
    assertBothHosts(c.duplicateKeySuspected.addresses);
    // Neither address was taken from another member: each stays bound to c only.
    assert.equal(status.drops['wrong-previous-hop'] ?? 0, 0);
  });
});
