// The daemon's last line of defence: an error that escaped every handler (a throw out of a packet,
// timer or socket callback, or a rejected promise nobody awaited) is logged with its context instead
// of killing the process and taking every site's paths through this node down with it.
//
// When going on is safe, and when it is not:
//   - While running, each event (a packet batch, a timer tick, a control request) is handled to the
//     end on its own; an error escaping one abandons that event and leaves the tables as the last
//     completed event left them. The data plane, the prober and the router keep working, so the
//     daemon keeps running and says so in the log.
//   - While starting or stopping it is NOT safe: half of the components may exist, the TUN may be
//     open with nothing reading it, and nobody would notice a daemon that never came up. It exits
//     non-zero instead (70, EX_SOFTWARE), so systemd records the failure and restarts it.
//   - A burst (more than `maxPerWindow` within `windowMs`) means a persistent fault, not a stray
//     event: a component is throwing on every tick or packet and may be wedged. It exits 70 too, and
//     the restart starts from clean state.
//   - Node's own ERR_INTERNAL_ASSERTION says Node's state is broken: exit 70 as well.
import type { Logger } from './log.js';

export type DaemonPhase = 'starting' | 'running' | 'stopping';

export interface LastResortOptions {
  log: Logger;
  phase: () => DaemonPhase;
  /** Called once when going on is not safe; must end the process (non-zero). */
  onFatal: () => void;
  now?: () => number;
  maxPerWindow?: number;
  windowMs?: number;
}

export interface LastResort {
  uninstall(): void;
}

let escapedTotal = 0;

/** Errors caught by the last-resort handler since the process started (a metric). */
export function escapedErrors(): number {
  return escapedTotal;
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  try {
    return `non-Error value thrown: ${JSON.stringify(err)}`;
  } catch {
    return `non-Error value thrown: ${String(err)}`;
  }
}

export function installLastResort(opts: LastResortOptions): LastResort {
  const now = opts.now ?? (() => performance.now());
  const maxPerWindow = opts.maxPerWindow ?? 10;
  const windowMs = opts.windowMs ?? 60_000;
  const startedAt = now();
  let recent: number[] = [];
  let fatalCalled = false;

  const handle = (err: unknown, origin: string): void => {
    escapedTotal++;
    const t = now();
    recent = recent.filter((at) => t - at < windowMs);
    recent.push(t);
    const phase = opts.phase();
    const fatal =
      phase !== 'running'
        ? `it escaped while the daemon was ${phase}`
        : recent.length > maxPerWindow
          ? `${recent.length} escaped errors within ${windowMs / 1000} s: a persistent fault`
          : (err as NodeJS.ErrnoException | undefined)?.code === 'ERR_INTERNAL_ASSERTION'
            ? 'Node reported its own state as broken'
            : undefined;
    const context =
      `${origin} escaped every handler (phase ${phase}, up ${Math.round((t - startedAt) / 1000)} s, ` +
      `${recent.length} in the last ${windowMs / 1000} s, ${escapedTotal} since start)`;
    try {
      opts.log.error(
        fatal
          ? `${context}; exiting with status 70 because ${fatal}:\n${describe(err)}`
          : `${context}; the daemon keeps running (please report this as a bug):\n${describe(err)}`,
      );
    } catch {
      // The log itself failed (stderr closed): nothing left to tell, and nothing to rethrow into.
    }
    if (fatal && !fatalCalled) {
      fatalCalled = true;
      opts.onFatal();
    }
  };
  const onException = (err: Error): void => handle(err, 'uncaught exception');
  const onRejection = (reason: unknown): void => handle(reason, 'unhandled promise rejection');
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return {
    uninstall: () => {
      process.off('uncaughtException', onException);
      process.off('unhandledRejection', onRejection);
    },
  };
}
