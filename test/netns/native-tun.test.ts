// The native TUN binding against the real kernel: a fixture process inside a private network namespace
// opens a TUN with openTun and answers pings through it; the test drives it with ping and a UDP burst.
// Root only. Everything runs inside namespaces this file creates and deletes (names unique per run).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openTun } from '../../src/tun/native-tun.js';
import { FixtureProcess } from './fixtures/fixture-process.js';

const run = promisify(execFile);
const ECHO = fileURLToPath(new URL('./fixtures/tun-echo.js', import.meta.url));
const BURST = fileURLToPath(new URL('./fixtures/udp-burst.js', import.meta.url));

const skip =
  process.getuid?.() !== 0
    ? 'needs root (network namespaces and /dev/net/tun)'
    : !existsSync('/dev/net/tun')
      ? '/dev/net/tun is missing'
      : false;

const ns = `tuntest-${randomBytes(4).toString('hex')}`;
const fixtures: FixtureProcess[] = [];

function inNs(cmd: string, ...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('ip', ['netns', 'exec', ns, cmd, ...args], { timeout: 20_000 });
}

async function linkShow(name: string): Promise<string | undefined> {
  try {
    return (await run('ip', ['-n', ns, 'link', 'show', name], { timeout: 5000 })).stdout;
  } catch {
    return undefined; // "Device ... does not exist"
  }
}

function echoFixture(name: string, ...extra: string[]): FixtureProcess {
  const f = new FixtureProcess(ns, ECHO, ['--name', name, '--mtu', '1400', ...extra]);
  fixtures.push(f);
  return f;
}

describe('native TUN binding in a network namespace', { skip }, () => {
  let echo: FixtureProcess;
  let ready: Record<string, unknown>;

  before(async () => {
    await run('ip', ['netns', 'add', ns]);
    await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    echo = echoFixture('tt0', '--v4', '10.99.0.1/24', '--v6', 'fd99::1/64');
    ready = await echo.next('ready', 10_000);
  });

  after(async () => {
    for (const f of fixtures) await f.kill();
    await run('ip', ['netns', 'del', ns]).catch(() => {});
  });

  test('the interface gets the requested name, the configured MTU, and is up', async () => {
    assert.equal(ready.name, 'tt0');
    const link = await linkShow('tt0');
    assert.ok(link, 'tt0 exists');
    assert.match(link, /\bmtu 1400\b/);
    assert.match(link, /<[^>]*\bUP\b[^>]*>/);
  });

  test('one IPv4 and one IPv6 address are assigned with their prefixes', async () => {
    const { stdout } = await run('ip', ['-n', ns, 'addr', 'show', 'dev', 'tt0']);
    assert.match(stdout, /inet 10\.99\.0\.1\/24 /);
    assert.match(stdout, /inet6 fd99::1\/64 /);
  });

  test('IPv4 ping is routed into the TUN and answered through write()', async () => {
    echo.send('reset');
    await echo.next('reset');
    await inNs('ping', '-c', '3', '-i', '0.2', '-W', '2', '10.99.0.2');
    echo.send('stats');
    const stats = await echo.next('stats');
    assert.ok((stats.echo4 as number) >= 3, `echo4=${String(stats.echo4)}`);
  });

  test('IPv6 ping is routed into the TUN and answered through write()', async () => {
    echo.send('reset');
    await echo.next('reset');
    await inNs('ping', '-6', '-c', '3', '-i', '0.2', '-W', '2', 'fd99::2');
    echo.send('stats');
    const stats = await echo.next('stats');
    assert.ok((stats.echo6 as number) >= 3, `echo6=${String(stats.echo6)}`);
  });

  test('a UDP burst is read in batches of more than one packet', async () => {
    echo.send('reset');
    await echo.next('reset');
    await inNs(process.execPath, BURST, '--to', '10.99.0.2', '--count', '20000', '--seconds', '5');
    echo.send('stats');
    const stats = await echo.next('stats');
    assert.ok((stats.packets as number) > 1000, `packets=${String(stats.packets)}`);
    assert.ok((stats.maxBatch as number) > 1, `maxBatch=${String(stats.maxBatch)}`);
  });

  test('opening a name that is in use fails with the kernel errno as code (EBUSY)', async () => {
    echo.send('open-again');
    const result = await echo.next('open-again');
    assert.equal(result.code, 'EBUSY');
    assert.match(String(result.message), /TUNSETIFF 'tt0'/);
  });

  test('a name longer than 15 bytes is refused with code EINVAL naming the interface', () => {
    const name = 'x'.repeat(20);
    assert.throws(
      () => openTun({ name, mtu: 1400, addresses: [] }),
      (err: NodeJS.ErrnoException) =>
        err.code === 'EINVAL' && err.message.includes(name) && err.syscall === 'TUNSETIFF',
    );
  });

  test('close() is idempotent, removes the interface, and lets the process exit', async () => {
    echo.send('close');
    await echo.next('closed');
    assert.equal(await linkShow('tt0'), undefined, 'tt0 is gone while the process still runs');
    assert.ok(echo.running);
    echo.endInput(); // nothing else keeps the process alive unless the binding leaked a handle
    assert.deepEqual(await echo.exited(5000), { code: 0, signal: null });
  });

  test('close() from inside the batch handler stops reading and lets the process exit', async () => {
    const f = echoFixture('tt1', '--v4', '10.98.0.1/24');
    await f.next('ready', 10_000);
    f.send('close-in-batch');
    await f.next('armed');
    // The ping's only purpose is to make a batch arrive; its reply never comes.
    await inNs('ping', '-c', '1', '-W', '1', '10.98.0.2').catch(() => {});
    await f.next('closed');
    assert.equal(await linkShow('tt1'), undefined, 'tt1 is gone while the process still runs');
    assert.ok(f.running);
    f.endInput();
    assert.deepEqual(await f.exited(5000), { code: 0, signal: null });
  });

  test('an exception thrown by the batch handler surfaces as an uncaught exception', async () => {
    const f = echoFixture('tt2', '--v4', '10.97.0.1/24', '--throw-in-batch');
    await f.next('ready', 10_000);
    await inNs('ping', '-c', '1', '-W', '1', '10.97.0.2').catch(() => {});
    const status = await f.exited(5000);
    assert.notEqual(status.code, 0);
    assert.match(f.stderr, /boom from the batch handler/);
    assert.equal(await linkShow('tt2'), undefined, 'the kernel removed tt2 with the process');
  });

  test('offloads: the kernel grants TSO (and USO where it has it); --no-offloads gets plain packets', async () => {
    assert.deepEqual(ready.offloads, { tso: true, uso: true }, 'Linux 6.2+ grants both');
    const f = echoFixture('tt4', '--v4', '10.95.0.1/24', '--no-offloads');
    const plain = await f.next('ready', 10_000);
    assert.deepEqual(plain.offloads, { tso: false, uso: false });
    await inNs('ping', '-c', '2', '-i', '0.2', '-W', '2', '10.95.0.2');
    f.send('close');
    await f.next('closed');
    f.endInput();
    await f.exited(5000);
  });

  test('deleting the interface under the reader: it is created again, same name and addresses', async () => {
    const f = echoFixture('tt3', '--v4', '10.96.0.1/24');
    await f.next('ready', 10_000);
    await inNs('ping', '-c', '1', '-W', '2', '10.96.0.2');
    await run('ip', ['-n', ns, 'link', 'del', 'tt3']);
    const gone = await f.next('log', 5000);
    assert.match(String(gone.line), /TUN tt3 refuses packets .*deleted|TUN tt3 refuses packets/);
    const back = await f.next('log', 5000);
    assert.match(String(back.line), /TUN tt3 is up again/);
    assert.match((await linkShow('tt3')) ?? '', /\bUP\b/);
    await inNs('ping', '-c', '2', '-i', '0.2', '-W', '2', '10.96.0.2');
    f.send('stats');
    const stats = await f.next('stats');
    assert.equal((stats.tun as { recreated: number }).recreated, 1);
    f.send('close');
    await f.next('closed');
    f.endInput();
    assert.deepEqual(await f.exited(5000), { code: 0, signal: null });
  });
});
