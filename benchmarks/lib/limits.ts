// What N daemons in N namespaces need from this machine, checked before anything is built, so a
// run that cannot fit says which limit it hits and how to raise it instead of failing halfway with
// EMFILE, ENOMEM or a silently overflowing neighbour table. Figures per daemon are measured ones
// (benchmarks/README.md, lab-scale): ~50 MB resident, ~11 threads, a dozen file descriptors.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { MAX_SITES } from '../../test/lab/lab-plan.js';

export interface LimitCheck {
  what: string;
  have: string;
  need: string;
  ok: boolean;
  /** How to raise it, when it is not enough. */
  fix?: string;
}

const RSS_PER_DAEMON_MB = 80; // measured ~50; headroom for start-up peaks
const THREADS_PER_DAEMON = 12;
const FDS_PER_DAEMON = 16;

function readNumber(path: string): number | null {
  try {
    return Number(readFileSync(path, 'utf8').trim().split(/\s+/)[0]);
  } catch {
    return null;
  }
}

function memAvailableMb(): number | null {
  try {
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync('/proc/meminfo', 'utf8'));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** Soft limit on open files of this process (children inherit it). */
function openFilesLimit(): number | null {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return !m ? null : m[1] === 'unlimited' ? Infinity : Number(m[1]);
  } catch {
    return null;
  }
}

function check(what: string, have: number | null, need: number, fix: string, unit = ''): LimitCheck {
  const ok = have === null || have >= need;
  return {
    what,
    have: have === null ? 'unknown' : `${Math.round(have)}${unit}`,
    need: `≥ ${Math.round(need)}${unit}`,
    ok,
    ...(ok ? {} : { fix }),
  };
}

/** Everything `n` daemons (plus `ipv6` neighbour entries) need; ok = false ones stop the run. */
export function checkLimits(n: number, ipv6: boolean): LimitCheck[] {
  const families = ipv6 ? 2 : 1;
  return [
    check('lab sites', MAX_SITES, n, `at most ${MAX_SITES} sites (10.200.<i>.0/24 underlay plan)`),
    check(
      'memory available',
      memAvailableMb(),
      n * RSS_PER_DAEMON_MB + 1024,
      'free memory or run fewer daemons',
      ' MB',
    ),
    check(
      'open files (this process and its children)',
      openFilesLimit(),
      n * FDS_PER_DAEMON + 256,
      '`ulimit -n 65536` in the shell that runs the benchmark',
    ),
    check(
      'system-wide open files (fs.file-max)',
      readNumber('/proc/sys/fs/file-max'),
      n * FDS_PER_DAEMON * 4,
      'sysctl -w fs.file-max=…',
    ),
    check(
      'threads (kernel.threads-max)',
      readNumber('/proc/sys/kernel/threads-max'),
      n * THREADS_PER_DAEMON + 2000,
      'sysctl -w kernel.threads-max=…',
    ),
    check(
      'pids (kernel.pid_max)',
      readNumber('/proc/sys/kernel/pid_max'),
      n * THREADS_PER_DAEMON + 4000,
      'sysctl -w kernel.pid_max=4194304',
    ),
    check(
      'network namespaces (user.max_net_namespaces)',
      readNumber('/proc/sys/user/max_net_namespaces'),
      n + 1,
      'sysctl -w user.max_net_namespaces=…',
    ),
    // The neighbour (ARP/NDP) tables are shared by all namespaces: the wan holds one entry per site
    // and each site one for its gateway. Past gc_thresh3 the kernel drops packets ("neighbor table
    // overflow" in dmesg).
    check(
      'IPv4 neighbour table (net.ipv4.neigh.default.gc_thresh3)',
      readNumber('/proc/sys/net/ipv4/neigh/default/gc_thresh3'),
      2 * n + 64,
      'sysctl -w net.ipv4.neigh.default.gc_thresh3=4096',
    ),
    ...(families === 2
      ? [
          check(
            'IPv6 neighbour table (net.ipv6.neigh.default.gc_thresh3)',
            readNumber('/proc/sys/net/ipv6/neigh/default/gc_thresh3'),
            3 * n + 64,
            'sysctl -w net.ipv6.neigh.default.gc_thresh3=4096',
          ),
        ]
      : []),
  ];
}

/** A line for the report: what overlayd does NOT need (so nobody raises it for nothing). */
export const NOT_NEEDED =
  'inotify instances/watches: not used (no file watching); per-user process limit (RLIMIT_NPROC): root';

export function cpuCount(): number {
  return cpus().length;
}
