// The HTTP side of the exporter: GET /metrics is the Prometheus text format built from the node at
// request time, GET / says what this is. No TLS and no auth: bind it to loopback (the default) or to
// the node's overlay address, where only authenticated members can reach it.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OverlayError } from '../errors.js';
import type { Logger } from '../log.js';
import type { OverlayNode } from '../node.js';
import { formatListenAddress, type ListenAddress } from './listen-address.js';
import { buildMetricsRegistry, type RegistryOptions } from './registry.js';

export interface MetricsServer {
  /** Where it listens, as host:port (the real port when 0 was asked for). */
  address: string;
  close(): Promise<void>;
}

export async function startMetricsServer(
  node: OverlayNode,
  listen: ListenAddress,
  log: Logger,
  opts: RegistryOptions = {},
): Promise<MetricsServer> {
  const registry = buildMetricsRegistry(node, opts);
  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (path === '/metrics') {
      let body: string;
      try {
        body = await registry.metrics();
      } catch (err) {
        log.warn(`scrape failed: ${err instanceof Error ? err.message : String(err)}`);
        res.writeHead(500, { 'content-type': 'text/plain' }).end('scrape failed; see the daemon log\n');
        return;
      }
      res
        .writeHead(200, { 'content-type': registry.contentType })
        .end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (path === '/') {
      const text = `overlayd ${node.self.name} (${node.self.address})\n\nPrometheus metrics: /metrics\n`;
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(text);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found; try /metrics\n');
  };
  const server = createServer((req, res) => void serve(req, res));
  // Prometheus keeps one connection per target open; a quiet one should not hold resources forever.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => reject(listenError(listen, err));
    server.once('error', onError);
    server.listen(listen.port, listen.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => log.warn(`metrics server: ${err.message}`));
  const bound = server.address() as AddressInfo;
  const address = formatListenAddress({ host: listen.host, port: bound.port });
  log.info(`metrics on http://${address}/metrics`);
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function listenError(listen: ListenAddress, err: NodeJS.ErrnoException): OverlayError {
  const where = `--metrics ${formatListenAddress(listen)}`;
  const why =
    err.code === 'EADDRINUSE'
      ? 'the port is in use (another overlayd or exporter?); choose another with --metrics HOST:PORT, or --no-metrics'
      : err.code === 'EADDRNOTAVAIL'
        ? 'that address is not on this host'
        : err.code === 'EACCES'
          ? 'permission denied (ports below 1024 need privileges)'
          : err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN'
            ? 'the host name does not resolve'
            : err.message;
  return new OverlayError('ERR_USAGE', `${where}: ${why}`, { cause: err });
}
