// What `overlayd up` checks before opening anything, and how it explains the kernel's refusals. The
// errors fed in have the shape native/tun.c and the UDP transport throw (errno name as `code`, the
// syscall in the message); the real ones are met in test/netns (interface busy, port in use,
// /dev/net/tun mode) and test/e2e/cli.test.ts (no CAP_NET_ADMIN).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { explainTransportError, explainTunError } from '../../src/cli/open-errors.js';
import { checkInterfaceName, hasNetAdmin, parsePortOption } from '../../src/cli/up-checks.js';
import { isOverlayError, OverlayError } from '../../src/errors.js';

const errno = (code: string, message: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`${code}: ${message}`), { code });

const status = (capEff: string): string => `Name:\tnode\nCapInh:\t0000000000000000\nCapEff:\t${capEff}\n`;

describe('up: checks before opening anything', () => {
  it('reads CAP_NET_ADMIN (bit 12) from the effective set', () => {
    assert.equal(hasNetAdmin(status('000001ffffffffff')), true, 'root');
    assert.equal(hasNetAdmin(status('0000000000001000')), true, 'the unit: CAP_NET_ADMIN only');
    assert.equal(hasNetAdmin(status('0000000000000000')), false, 'an ordinary user');
    assert.equal(hasNetAdmin(status('0000000000000800')), false, 'CAP_NET_BIND_SERVICE is not enough');
    assert.equal(hasNetAdmin('Name:\tnode\n'), undefined, 'unknown: let the kernel decide');
  });

  it('parses --port as written', () => {
    assert.equal(parsePortOption(undefined), undefined);
    assert.equal(parsePortOption('7946'), 7946);
    for (const bad of ['abc', '0', '65536', '-1', '7946.5', '', '0x10']) {
      assert.throws(
        () => parsePortOption(bad),
        (e: unknown) => isOverlayError(e, 'ERR_USAGE') && e.message.includes(JSON.stringify(bad)),
        bad,
      );
    }
  });

  it('checks interface names as Linux does', () => {
    checkInterfaceName('ovl0');
    checkInterfaceName('a'.repeat(15));
    for (const bad of ['', 'a'.repeat(16), 'ovl/0', 'ovl 0', 'ovl:0', '.', '..']) {
      assert.throws(
        () => checkInterfaceName(bad),
        (e: unknown) => isOverlayError(e, 'ERR_USAGE'),
        bad,
      );
    }
  });
});

describe('up: kernel refusals explained', () => {
  it('EACCES on /dev/net/tun: which file, its mode, and what to do (exit 77)', () => {
    const e = explainTunError(errno('EACCES', 'permission denied, open /dev/net/tun for ovl0'), 'ovl0');
    assert.ok(isOverlayError(e, 'ERR_PERMISSION'));
    assert.match(
      e.message,
      /^cannot open \/dev\/net\/tun: permission denied \((mode \d{4}, owner uid \d+ gid \d+|mode unknown); this process runs as uid \d+\)/,
    );
    assert.match(
      e.message,
      /the usual mode is 0666 .*chmod 0666 \/dev\/net\/tun.*deploy\/udev\/60-overlayd-tun\.rules/,
    );
    assert.equal(exitCodeFor(e), 77);
  });

  it('EPERM creating the interface: needs root or CAP_NET_ADMIN (exit 77)', () => {
    const e = explainTunError(errno('EPERM', 'operation not permitted, TUNSETIFF ovl0'), 'ovl0');
    assert.ok(isOverlayError(e, 'ERR_PERMISSION'));
    assert.match(e.message, /^overlayd up needs root or CAP_NET_ADMIN \(the kernel refused to create ovl0: /);
  });

  it('EBUSY: the interface is held by another process (exit 1: it may be going away)', () => {
    const e = explainTunError(errno('EBUSY', 'device or resource busy, TUNSETIFF ovl0'), 'ovl0');
    assert.ok(isOverlayError(e, 'ERR_TUN'));
    assert.match(e.message, /^interface ovl0 is in use by another process \(another overlayd\?/);
    assert.equal(exitCodeFor(e), 1);
  });

  it('a missing /dev/net/tun says to load the driver', () => {
    const e = explainTunError(
      errno('ENOENT', 'no such file or directory, open /dev/net/tun for ovl0'),
      'ovl0',
    );
    assert.match((e as Error).message, /modprobe tun/);
  });

  it('anything else keeps the kernel message, as one line', () => {
    const e = explainTunError(errno('EIO', 'i/o error, SIOCSIFMTU ovl0'), 'ovl0');
    assert.ok(isOverlayError(e, 'ERR_TUN'));
    assert.equal(e.message, 'cannot set up TUN interface ovl0: EIO: i/o error, SIOCSIFMTU ovl0');
  });

  it('a UDP port in use names the port and how to find who holds it (exit 1)', () => {
    const bind = new OverlayError('ERR_TRANSPORT', 'cannot bind UDP 0.0.0.0 port 7946: EADDRINUSE', {
      cause: errno('EADDRINUSE', 'address already in use'),
    });
    const e = explainTransportError(bind, 7946);
    assert.ok(isOverlayError(e, 'ERR_TRANSPORT'));
    assert.match(
      e.message,
      /^UDP port 7946 is in use \(another overlayd\? 'ss -ulpn sport = :7946' shows who\)/,
    );
    assert.equal(exitCodeFor(e), 1);
    const other = new OverlayError('ERR_TRANSPORT', 'cannot bind UDP 0.0.0.0 port 7946: EACCES');
    assert.equal(explainTransportError(other, 7946), other);
  });
});
