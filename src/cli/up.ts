// `overlayd up`: run the node in the foreground until SIGINT/SIGTERM; the TUN goes away on exit.
//
// Order of work, so that every expected failure is one line and leaves nothing behind:
//   1. command-line values (port, interface name, log level, metrics address)   → exit 2
//   2. CAP_NET_ADMIN                                                            → exit 77
//   3. peers.yaml and the key file                                              → exit 78
//   4. UDP port, TUN, control socket, metrics listener (each closed if a later one fails)
//   5. running: SIGHUP reloads, SIGINT/SIGTERM stop; errors that escape every handler are logged by the
//      last-resort handler (src/last-resort.ts), which decides whether running on is safe.
import type { CommandModule } from 'yargs';
import { readKeyFile } from '../config/key-file.js';
import { loadConfig } from '../config/load.js';
import { defaultSocketPath } from '../control/protocol.js';
import { absoluteSocketPath } from '../control/socket-path.js';
import { OverlayError } from '../errors.js';
import { systemHostNetwork } from '../host/host-network.js';
import { installLastResort, type DaemonPhase } from '../last-resort.js';
import { createLogger, isLogLevel } from '../log.js';
import { DEFAULT_METRICS_LISTEN, parseListenAddress } from '../metrics/listen-address.js';
import { holdOptimizer, tierUpOnceSettled } from '../jit-tiering.js';
import { startMetricsServer, type MetricsServer } from '../metrics/metrics-server.js';
import { OverlayNode } from '../node.js';
import { openTun } from '../tun/native-tun.js';
import { openUnderlay } from '../transport/open-underlay.js';
import { dirname, resolve } from 'node:path';
import { overlaydVersion } from '../version.js';
import { EXIT_SOFTWARE } from './exit-codes.js';
import { explainTransportError, explainTunError } from './open-errors.js';
import { checkInterfaceName, checkNetAdmin, parsePortOption } from './up-checks.js';

export interface UpArgs {
  peers: string;
  key: string;
  interface: string;
  port?: string;
  'tcp-port'?: string;
  'log-level': string;
  control?: string | false;
  metrics: string | false;
  offloads: boolean;
  'fast-lane': boolean;
}

export const upCommand: CommandModule<object, UpArgs> = {
  command: 'up',
  describe:
    'Bring up the overlay interface and run this node in the foreground (needs root or CAP_NET_ADMIN)',
  builder: (y) =>
    y
      .option('peers', { type: 'string', demandOption: true, describe: 'Path to peers.yaml' })
      .option('key', {
        type: 'string',
        default: '/etc/overlayd/key',
        describe: 'Private key file (mode 0600)',
      })
      .option('interface', {
        type: 'string',
        default: 'ovl0',
        describe: 'TUN interface name (at most 15 bytes)',
      })
      .option('port', { type: 'string', describe: 'UDP port (default: network.port of peers.yaml)' })
      .option('tcp-port', {
        type: 'string',
        describe:
          'TCP port of the WebSocket transport (default: network.tcpPort, else the UDP port number; 0 disables it)',
      })
      .option('offloads', {
        type: 'boolean',
        default: true,
        describe:
          'TUN offloads (TSO/USO: 64 kB reads and writes) and UDP GSO/GRO where the kernel has them; ' +
          '--no-offloads forces one packet per read, write and datagram',
      })
      .option('fast-lane', {
        type: 'boolean',
        default: true,
        describe:
          'Seal and send packets to busy destinations from native code, without entering JavaScript ' +
          '(lower latency); --no-fast-lane keeps every packet on the JavaScript path',
      })
      .option('control', {
        type: 'string',
        describe:
          'Control socket for status/paths/ping/trace/reload (default /run/overlayd/<interface>.sock; a relative ' +
          'path is taken from the working directory; --no-control to disable)',
      })
      .option('metrics', {
        type: 'string',
        default: DEFAULT_METRICS_LISTEN,
        describe:
          'Prometheus exporter HOST:PORT ([::1]:9477 for IPv6); loopback by default, the overlay address to let ' +
          'members scrape it; --no-metrics to disable',
      })
      .option('log-level', {
        type: 'string',
        default: 'info',
        choices: ['debug', 'info', 'warn', 'error'],
        describe: 'Least severe log level printed',
      }),
  handler: async (args) => {
    holdOptimizer();
    if (!isLogLevel(args['log-level']))
      throw new OverlayError('ERR_USAGE', `bad --log-level ${args['log-level']}`);
    const port = parsePortOption(args.port);
    const tcpPort = args['tcp-port'] === '0' ? 0 : parsePortOption(args['tcp-port'], '--tcp-port');
    checkInterfaceName(args.interface);
    // A bad --metrics value is a usage error before anything is opened, not after the TUN is up.
    const metricsListen = args.metrics === false ? null : parseListenAddress(String(args.metrics));
    const controlSocket =
      args.control === false ? null : absoluteSocketPath(args.control ?? defaultSocketPath(args.interface));
    checkNetAdmin();
    const log = createLogger(args['log-level']);
    const config = loadConfig(args.peers);
    const keyPair = readKeyFile(args.key);

    let phase: DaemonPhase = 'starting';
    const lastResort = installLastResort({
      log: log.child('last-resort'),
      phase: () => phase,
      onFatal: () => process.exit(EXIT_SOFTWARE),
    });
    log.info(`overlayd ${overlaydVersion()} starting, node ${process.version}`);
    const node = await OverlayNode.start({
      config,
      keyPair,
      interfaceName: args.interface,
      port,
      configPath: args.peers,
      controlSocket,
      log,
      hostNetwork: systemHostNetwork,
      openTun: (opts) => {
        try {
          return openTun({
            ...opts,
            offloads: args.offloads,
            fastLane: args['fast-lane'],
            log: log.child('tun'),
          });
        } catch (err) {
          throw explainTunError(err, opts.name);
        }
      },
      openTransport: (p, mtu) =>
        openUnderlay(p, log.child('udp'), {
          offloads: args.offloads,
          mtu,
          tcpPort: tcpPort ?? config.network.tcpPort,
          tls: tlsPaths(config.network.tls, args.peers),
        }).catch((err: unknown) => {
          throw explainTransportError(err, p);
        }),
    });
    let metrics: MetricsServer | undefined;
    if (metricsListen) {
      try {
        metrics = await startMetricsServer(node, metricsListen, log.child('metrics'));
      } catch (err) {
        await node.stop();
        throw err;
      }
    }
    process.on('SIGHUP', () => {
      try {
        node.reloadFromFile('SIGHUP');
      } catch {
        // logged by the node; the running configuration stays
      }
    });
    phase = 'running';
    const members = node.configuration.peers.length;
    const stopTiering = tierUpOnceSettled(
      () => node.router.routes().size >= members - 1,
      () => node.loopLag.allowanceMs(performance.now()) > 0,
    );
    await new Promise<void>((resolve) => {
      const shutdown = (signal: string): void => {
        log.info(`${signal}: shutting down`);
        resolve();
      };
      process.once('SIGINT', () => shutdown('SIGINT'));
      process.once('SIGTERM', () => shutdown('SIGTERM'));
    });
    phase = 'stopping';
    stopTiering();
    await metrics?.close();
    await node.stop();
    lastResort.uninstall();
    log.info('stopped');
  },
};

/** TLS file paths as written in peers.yaml, relative ones taken from the file's directory. */
function tlsPaths(
  tls: { cert: string; key: string } | undefined,
  peersFile: string,
): { cert: string; key: string } | undefined {
  if (!tls) return undefined;
  const dir = dirname(resolve(peersFile));
  return { cert: resolve(dir, tls.cert), key: resolve(dir, tls.key) };
}
