// What the control socket can do, in terms of a running node. Each handler returns plain JSON.
import { OverlayError } from '../errors.js';
import type { NodeId } from '../identity/node-id.js';
import type { OverlayNode } from '../node.js';
import type { ControlHandler } from './server.js';
import { buildPaths, buildStatus, resolveMember } from './status.js';

const MAX_PINGS = 100;

export function controlHandlers(node: OverlayNode, now: () => number): Record<string, ControlHandler> {
  const target = (params: Record<string, unknown>): NodeId => {
    const name = String(params.target ?? '');
    const id = resolveMember(node, name);
    if (id === undefined) throw new OverlayError('ERR_USAGE', `no member named or addressed '${name}'`);
    if (id === node.self.id) throw new OverlayError('ERR_USAGE', `'${name}' is this node`);
    return id;
  };

  return {
    status: () => buildStatus(node, now()),

    paths: () => buildPaths(node, now()),

    ping: async (params) => {
      const dst = target(params);
      const count = Math.min(MAX_PINGS, Math.max(1, Number(params.count ?? 3)));
      const timeoutMs = Math.max(10, Number(params.timeoutMs ?? 1000));
      const path = node.router.route(dst);
      const relays = path ? path.nodes.slice(1, -1) : [];
      const viaPath: Array<number | null> = [];
      const direct: Array<number | null> = [];
      for (let i = 0; i < count; i++) {
        const [p, d] = await Promise.all([
          path ? node.dataPlane.pinger.ping(dst, relays, timeoutMs) : Promise.resolve(null),
          node.dataPlane.pinger.ping(dst, [], timeoutMs),
        ]);
        viaPath.push(p);
        direct.push(d);
      }
      return {
        target: node.nameOf(dst),
        path: path ? path.nodes.map(node.nameOf) : null,
        pathRttMs: viaPath,
        directRttMs: direct,
      };
    },

    trace: async (params) => {
      const dst = target(params);
      const timeoutMs = Math.max(10, Number(params.timeoutMs ?? 1000));
      const path = node.router.route(dst);
      if (!path) return { target: node.nameOf(dst), path: null, hops: [] };
      const links = new Map(node.router.linkState().map((l) => [`${l.a}|${l.b}`, l.costMs]));
      const hops = [];
      for (let i = 1; i < path.nodes.length; i++) {
        const hop = path.nodes[i];
        const rttMs = await node.dataPlane.pinger.ping(hop, path.nodes.slice(1, i), timeoutMs);
        const prev = path.nodes[i - 1];
        hops.push({
          hop: i,
          name: node.nameOf(hop),
          address: node.peers.get(hop)?.address,
          rttMs,
          linkCostMs: links.get(`${prev}|${hop}`) ?? links.get(`${hop}|${prev}`) ?? null,
        });
      }
      return { target: node.nameOf(dst), path: path.nodes.map(node.nameOf), hops };
    },

    reload: () => node.reloadFromFile('control socket'),

    watch: (_params, client) => {
      client.watch();
      return { watching: true };
    },
  };
}
