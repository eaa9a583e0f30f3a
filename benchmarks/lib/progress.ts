// Progress lines on stderr (the tables go to stdout, so `> results.md` captures only them), and small
// argument helpers shared by the benchmark commands.

export function progress(msg: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

/** A positive number from an option, or the fallback; exits with a usage error on garbage. */
export function numberOption(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    usageError(`--${name} needs a non-negative number, got ${JSON.stringify(value)}`);
  return n;
}

/** Options every benchmark command takes: spread them into its parseArgs options, then call commonOptions. */
export const COMMON_OPTIONS = {
  quick: { type: 'boolean', default: false },
  json: { type: 'string' },
  'wait-quiet': { type: 'string' },
  help: { type: 'boolean', default: false },
} as const;

/**
 * --help prints `usage: <usage>` and exits; the rest: --quick, --json FILE, --wait-quiet S (wait until
 * the machine is quiet before measuring).
 */
export function commonOptions(
  values: { quick?: boolean; json?: string; 'wait-quiet'?: string; help?: boolean },
  usage: string,
): { quick: boolean; json: string | undefined; waitQuietS: number } {
  if (values.help) {
    process.stdout.write(`usage: ${usage}\n`);
    process.exit(0);
  }
  return {
    quick: values.quick ?? false,
    json: values.json,
    waitQuietS: numberOption(values['wait-quiet'], 0, 'wait-quiet'),
  };
}

export function usageError(msg: string): never {
  process.stderr.write(`${msg}\n`);
  process.exit(2);
}

/** Refuses to start without root: every benchmark builds network namespaces. */
export function requireRoot(): void {
  if (process.getuid?.() !== 0) usageError('benchmarks need root (network namespaces, nftables, TUN)');
}

/** The machine, for the record: CPU model and count, kernel. */
export async function machineLine(): Promise<string> {
  const { cpus, release } = await import('node:os');
  const c = cpus();
  return `${c.length} × ${c[0]?.model ?? 'unknown CPU'}, Linux ${release()}, Node ${process.version}`;
}

/** The overlayd code measured: commit, and "+ uncommitted changes" when src/ differs from it. */
export async function codeVersion(): Promise<string> {
  const { execFileSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const root = fileURLToPath(new URL('../../../', import.meta.url)); // dist/benchmarks/lib → repo root
  try {
    const git = (args: string[]): string =>
      execFileSync('git', ['-C', root, ...args], { encoding: 'utf8' }).trim();
    const head = git(['rev-parse', '--short', 'HEAD']);
    const dirty = git(['status', '--porcelain', '--', 'src']) !== '';
    return dirty ? `${head} + uncommitted changes in src/` : head;
  } catch {
    return 'unknown (not a git checkout)';
  }
}
