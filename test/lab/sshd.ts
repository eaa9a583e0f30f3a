// A real sshd in a lab site and the ssh command line that reaches it from another site: the peer a user
// would actually run over the overlay. Keys are made for the run (host key in the server's site, client
// key in the client's), root logs in by key only, and the daemon is a lab process (stopped with the lab).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Lab } from './lab.js';

export const SSHD = '/usr/sbin/sshd';

/** A skip reason for node:test when openssh-server is missing. */
export function sshdSkipReason(): string | undefined {
  return existsSync(SSHD) ? undefined : 'needs openssh-server (/usr/sbin/sshd)';
}

/**
 * Starts sshd in `server` listening on `address`:22 and returns the argv (without the remote command)
 * of an ssh client in `client` that logs in to it as root.
 */
export async function startSshd(
  lab: Lab,
  server: string,
  client: string,
  address: string,
): Promise<string[]> {
  const dir = lab.path(`ssh-${server}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  await lab.execOk(server, ['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', `${dir}/host_key`]);
  await lab.execOk(client, ['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', `${dir}/client_key`]);
  writeFileSync(`${dir}/authorized_keys`, readFileSync(`${dir}/client_key.pub`), { mode: 0o600 });
  writeFileSync(
    `${dir}/sshd_config`,
    [
      `ListenAddress ${address}`,
      'Port 22',
      `HostKey ${dir}/host_key`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      `PidFile ${dir}/sshd.pid`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      // A session must survive on TCP retransmission alone, not on keepalive luck.
      'ClientAliveInterval 0',
    ].join('\n') + '\n',
  );
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation directory
  lab.spawn(server, [SSHD, '-D', '-e', '-f', `${dir}/sshd_config`], { name: `sshd-${server}` });
  await lab.waitForListen(server, 22, 'tcp');
  return [
    'ssh',
    '-i',
    `${dir}/client_key`,
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    `UserKnownHostsFile=${dir}/known_hosts`,
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=10',
    `root@${address}`,
  ];
}
