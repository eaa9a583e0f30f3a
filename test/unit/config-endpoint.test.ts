import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEndpointSpec } from '../../src/config/endpoint-spec.js';

const DEFAULT_PORT = 7946;

function ok(text: string): { host: string; port: number } {
  const parsed = parseEndpointSpec(text, DEFAULT_PORT);
  assert.ok(parsed.ok, `${text}: ${parsed.ok ? '' : parsed.error}`);
  return { host: parsed.host, port: parsed.port };
}

function error(text: string): string {
  const parsed = parseEndpointSpec(text, DEFAULT_PORT);
  assert.ok(!parsed.ok, `${text} should be rejected`);
  return parsed.error;
}

describe('endpoint specs', () => {
  it('reads host:port for IPv4, bracketed IPv6 and names', () => {
    assert.deepEqual(ok('198.51.100.7:7000'), { host: '198.51.100.7', port: 7000 });
    assert.deepEqual(ok('[2001:DB8:0::7]:7000'), { host: '2001:db8::7', port: 7000 });
    assert.deepEqual(ok('Site-B.Example.NET:65535'), { host: 'site-b.example.net', port: 65535 });
    assert.deepEqual(ok('gw.example.net.:1'), { host: 'gw.example.net.', port: 1 });
  });

  it('uses the network port when none is written', () => {
    assert.deepEqual(ok('203.0.113.9'), { host: '203.0.113.9', port: DEFAULT_PORT });
    assert.deepEqual(ok('[2001:db8::7]'), { host: '2001:db8::7', port: DEFAULT_PORT });
    assert.deepEqual(ok('localhost'), { host: 'localhost', port: DEFAULT_PORT });
  });

  it('turns an IPv4-mapped IPv6 literal into plain IPv4, as the transport reports it', () => {
    assert.deepEqual(ok('[::ffff:198.51.100.7]:7000'), { host: '198.51.100.7', port: 7000 });
  });

  it('rejects empty endpoints and bad ports', () => {
    assert.equal(error(''), 'empty endpoint');
    assert.equal(error('   '), 'empty endpoint');
    assert.equal(error('198.51.100.7:0'), 'port 0 is out of range 1..65535');
    assert.equal(error('198.51.100.7:65536'), 'port 65536 is out of range 1..65535');
    assert.equal(error('198.51.100.7:'), 'port is empty');
    assert.equal(error('198.51.100.7:-1'), 'port "-1" is not a number');
    assert.equal(error('[2001:db8::7]:http'), 'port "http" is not a number');
    assert.equal(error(':7946'), 'host is empty');
  });

  it('rejects unbalanced or misused brackets', () => {
    assert.equal(error('[::1'), "unbalanced '['; write IPv6 endpoints as [address]:port");
    assert.equal(error('::1]:7946'), "unbalanced ']'; write IPv6 endpoints as [address]:port");
    assert.equal(error('[::1]7946'), "expected ':port' after ']'");
    assert.equal(error('[198.51.100.7]:7946'), '"198.51.100.7" in brackets is not an IPv6 address');
    assert.equal(error('2001:db8::zz'), 'not an IPv6 address; write IPv6 endpoints as [address]:port');
  });

  it('rejects IPv6 without brackets, naming both readings when a port may be meant', () => {
    assert.equal(
      error('2001:db8::7:7946'),
      'is ambiguous without brackets (the address 2001:db8::7:7946, or 2001:db8::7 port 7946?); ' +
        'write [2001:db8::7]:7946 or [2001:db8::7:7946]',
    );
    assert.equal(
      error('2001:db8::7'),
      'an IPv6 endpoint needs brackets: write [2001:db8::7]:port, or [2001:db8::7] for network.port',
    );
    assert.equal(
      error('fd00::1'),
      'an IPv6 endpoint needs brackets: write [fd00::1]:port, or [fd00::1] for network.port',
    );
  });

  it('rejects invalid IPv4 literals instead of taking them for host names', () => {
    assert.equal(error('300.1.1.1:7946'), '"300.1.1.1" is not a valid IPv4 address');
    assert.equal(error('1.2.3'), '"1.2.3" is not a valid IPv4 address');
  });

  it('rejects host names that are not RFC 1123', () => {
    assert.equal(
      error('bad_host:7946'),
      `host name "bad_host" may only contain letters, digits, '-' and '.'`,
    );
    assert.equal(error('a b'), `host name "a b" may only contain letters, digits, '-' and '.'`);
    assert.equal(error('a..b'), 'host name "a..b" has an empty label');
    assert.equal(error('-gw.example.net'), `host name label "-gw" starts or ends with '-'`);
    assert.equal(error(`${'a'.repeat(64)}.net`), 'host name label is longer than 63 characters');
    assert.equal(error(`${'a.'.repeat(127)}ab`), 'host name is longer than 253 characters');
  });
});
