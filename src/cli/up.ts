// `overlayd up`: run the node in the foreground until SIGINT/SIGTERM; the TUN goes away on exit.
import type { CommandModule } from 'yargs';
import { readKeyFile } from '../config/key-file.js';
import { loadConfig } from '../config/load.js';
import { defaultSocketPath } from '../control/protocol.js';
import { OverlayError, isOverlayError } from '../errors.js';
import { createLogger, isLogLevel } from '../log.js';
import { DEFAULT_METRICS_LISTEN, parseListenAddress } from '../metrics/listen-address.js';
import { startMetricsServer, type MetricsServer } from '../metrics/metrics-server.js';
import { OverlayNode } from '../node.js';
import { openTun } from '../tun/native-tun.js';
import { openUnderlay } from '../transport/open-underlay.js';
import { dirname, resolve } from 'node:path';

export interface UpArgs {
  peers: string;
  key: string;
  interface: string;
  port?: number;
  'tcp-port'?: number;
  'log-level': string;
  control?: string | false;
  metrics: string | false;
  offloads: boolean;
}

export const upCommand: CommandModule<object, UpArgs> = {
  command: 'up',
  describe: 'Bring up the overlay interface and run this node in the foreground',
  builder: (y) =>
    y
      .option('peers', { type: 'string', demandOption: true, describe: 'Path to peers.yaml' })
      .option('key', {
        type: 'string',
        default: '/etc/overlayd/key',
        describe: 'Private key file (mode 0600)',
      })
      .option('interface', { type: 'string', default: 'ovl0', describe: 'TUN interface name' })
      .option('port', { type: 'number', describe: 'UDP port (default: network.port of peers.yaml)' })
      .option('tcp-port', {
        type: 'number',
        describe:
          'TCP port of the WebSocket transport (default: network.tcpPort, else the UDP port number; 0 disables it)',
      })
      .option('control', {
        type: 'string',
        describe:
          'Control socket for status/paths/ping/trace/reload (default /run/overlayd/<interface>.sock; --no-control to disable)',
      })
      .option('metrics', {
        type: 'string',
        default: DEFAULT_METRICS_LISTEN,
        describe:
          'Prometheus exporter HOST:PORT ([::1]:9477 for IPv6); loopback by default, the overlay address to let ' +
          'members scrape it; --no-metrics to disable',
      })
      .option('offloads', {
        type: 'boolean',
        default: true,
        describe:
          'TUN offloads (TSO/USO: 64 kB reads and writes) and UDP GSO/GRO where the kernel has them; ' +
          '--no-offloads forces one packet per read, write and datagram',
      })
      .option('log-level', {
        type: 'string',
        default: 'info',
        choices: ['debug', 'info', 'warn', 'error'],
        describe: 'Least severe log level printed',
      }),
  handler: async (args) => {
    if (!isLogLevel(args['log-level']))
      throw new OverlayError('ERR_USAGE', `bad --log-level ${args['log-level']}`);
    if (args.port !== undefined && !(Number.isInteger(args.port) && args.port > 0 && args.port < 65536)) {
      throw new OverlayError('ERR_USAGE', `--port must be an integer in 1..65535, got ${args.port}`);
    }
    const tcpPort = args['tcp-port'];
    if (tcpPort !== undefined && !(Number.isInteger(tcpPort) && tcpPort >= 0 && tcpPort < 65536)) {
      throw new OverlayError('ERR_USAGE', `--tcp-port must be an integer in 0..65535, got ${tcpPort}`);
    }
    // A bad --metrics value is a usage error before anything is opened, not after the TUN is up.
    const metricsListen = args.metrics === false ? null : parseListenAddress(String(args.metrics));
    const log = createLogger(args['log-level']);
    const config = loadConfig(args.peers);
    const keyPair = readKeyFile(args.key);
    const node = await OverlayNode.start({
      config,
      keyPair,
      interfaceName: args.interface,
      port: args.port,
      configPath: args.peers,
      controlSocket: args.control === false ? null : (args.control ?? defaultSocketPath(args.interface)),
      log,
      openTun: (opts) => openTun({ ...opts, offloads: args.offloads, log: log.child('tun') }),
      openTransport: (port, mtu) =>
        openUnderlay(port, log.child('udp'), {
          offloads: args.offloads,
          mtu,
          tcpPort: tcpPort ?? config.network.tcpPort,
          tls: tlsPaths(config.network.tls, args.peers),
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
        node.reloadFromFile();
      } catch (err) {
        log.error(
          `reload failed, running configuration kept: ${isOverlayError(err) ? err.message : String(err)}`,
        );
      }
    });
    await new Promise<void>((resolve) => {
      const shutdown = (signal: string): void => {
        log.info(`${signal}: shutting down`);
        resolve();
      };
      process.once('SIGINT', () => shutdown('SIGINT'));
      process.once('SIGTERM', () => shutdown('SIGTERM'));
    });
    await metrics?.close();
    await node.stop();
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
