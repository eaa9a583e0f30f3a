// The daemon's end of the control socket. Filesystem permissions are the access control: the socket
// is created 0600 in a directory that only the daemon's user owns and may write (0700 when the daemon
// creates it; systemd's RuntimeDirectory= makes it 0700 too), so only that user (or root) can ask or
// reload. The directory is checked, not trusted: in a directory someone else can write, they could
// swap the socket for their own and answer `overlayd status` or swallow `overlayd reload`.
import { chmodSync, existsSync, lstatSync, mkdirSync, statSync, unlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { absoluteSocketPath } from './socket-path.js';
import { WebSocketServer, type WebSocket } from 'ws';
import { OverlayError, isOverlayError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ControlEvent, ControlRequest, ControlResponse } from './protocol.js';

export type ControlHandler = (params: Record<string, unknown>, client: ControlClientHandle) => unknown;

export interface ControlClientHandle {
  /** Pushes events to this client until it disconnects. */
  watch(): void;
}

export class ControlServer {
  private readonly watchers = new Set<WebSocket>();

  private constructor(
    readonly path: string,
    private readonly http: Server,
    private readonly wss: WebSocketServer,
  ) {}

  /** `path` may be relative (to the working directory); the server listens on its absolute form. */
  static async listen(
    socketPath: string,
    handlers: Record<string, ControlHandler>,
    log: Logger,
  ): Promise<ControlServer> {
    const path = absoluteSocketPath(socketPath);
    const dir = dirname(path);
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
    checkSocketDirectory(dir);
    await removeStaleSocket(path);
    const http = createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' });
      res.end('overlayd control socket: use overlayd status/paths/ping/trace/reload\n');
    });
    const wss = new WebSocketServer({ server: http, maxPayload: 1 << 20 });
    const server = new ControlServer(path, http, wss);
    wss.on('connection', (ws) => server.serve(ws, handlers, log));
    await new Promise<void>((resolve, reject) => {
      http.once('error', (err: NodeJS.ErrnoException) =>
        reject(
          new OverlayError(
            'ERR_CONTROL',
            `cannot listen on control socket ${path}: ${err.code ?? err.message}`,
          ),
        ),
      );
      // The umask makes the socket owner-only from its first instant; chmod below states it for sure.
      const oldMask = process.umask(0o177);
      http.listen(path, () => {
        process.umask(oldMask);
        resolve();
      });
    });
    chmodSync(path, 0o600);
    return server;
  }

  private serve(ws: WebSocket, handlers: Record<string, ControlHandler>, log: Logger): void {
    const client: ControlClientHandle = { watch: () => this.watchers.add(ws) };
    ws.on('close', () => this.watchers.delete(ws));
    ws.on('error', () => this.watchers.delete(ws));
    ws.on('message', async (raw) => {
      let req: ControlRequest;
      try {
        req = JSON.parse(raw.toString()) as ControlRequest;
        if (typeof req.id !== 'number' || typeof req.method !== 'string') throw new Error('bad request');
      } catch {
        ws.send(JSON.stringify({ id: -1, error: { code: 'ERR_CONTROL', message: 'malformed request' } }));
        return;
      }
      const handler = handlers[req.method];
      let res: ControlResponse;
      try {
        if (!handler) throw new OverlayError('ERR_USAGE', `unknown method ${req.method}`);
        res = { id: req.id, result: await handler(req.params ?? {}, client) };
      } catch (err) {
        if (!isOverlayError(err))
          log.warn(`control ${req.method} failed: ${(err as Error).stack ?? String(err)}`);
        res = {
          id: req.id,
          error: { code: isOverlayError(err) ? err.code : 'ERR_INTERNAL', message: (err as Error).message },
        };
      }
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(res));
    });
  }

  /** Sends an event to every watching client. */
  broadcast(event: ControlEvent): void {
    if (this.watchers.size === 0) return;
    const msg = JSON.stringify(event);
    for (const ws of this.watchers) if (ws.readyState === ws.OPEN) ws.send(msg);
  }

  async close(): Promise<void> {
    for (const ws of this.wss.clients) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}

/** Refuses a directory owned by another user, or one that group or others may write. */
export function checkSocketDirectory(dir: string): void {
  const st = statSync(dir);
  const uid = process.geteuid?.();
  if (!st.isDirectory())
    throw new OverlayError('ERR_USAGE', `control socket directory ${dir} is not a directory`);
  if (uid !== undefined && st.uid !== uid) {
    throw new OverlayError(
      'ERR_PERMISSION',
      `control socket directory ${dir} is owned by uid ${st.uid}, not by this daemon's user (uid ${uid}); ` +
        `that user could replace the socket. Use a directory owned by uid ${uid}, or another --control path`,
    );
  }
  const mode = st.mode & 0o7777;
  if ((mode & 0o022) !== 0) {
    throw new OverlayError(
      'ERR_PERMISSION',
      `control socket directory ${dir} has mode ${mode.toString(8).padStart(4, '0')}: group or others may ` +
        `write it and replace the socket. Run chmod go-w ${dir}, or choose another --control path`,
    );
  }
}

/**
 * A socket file left by a daemon that died is removed; one that answers means another daemon runs.
 * Anything that is not a socket is left alone: --control pointed at the wrong path must not delete
 * a file (peers.yaml, a key) that happens to be there.
 */
async function removeStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return; // nothing there
  }
  if (!st.isSocket()) {
    throw new OverlayError(
      'ERR_USAGE',
      `${path} exists and is not a socket (${fileKind(st)}); refusing to replace it with the control ` +
        `socket: remove it, or choose another --control path`,
    );
  }
  const alive = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (alive)
    throw new OverlayError('ERR_CONTROL', `another overlayd is already running with control socket ${path}`);
  unlinkSync(path);
}

function fileKind(st: import('node:fs').Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a directory';
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFIFO()) return 'a FIFO';
  return 'a device or other special file';
}
