// The error for an invalid peers.yaml. It carries every problem found, not just the first, so an
// operator editing the file for a new site fixes everything in one pass instead of one per restart.
import { OverlayError } from '../errors.js';

export interface ConfigProblem {
  /** 1-based line in the file. */
  line: number;
  /** Field path such as `network.prefix` or `peers[2].endpoints[0]`; empty for file-level problems. */
  field: string;
  message: string;
}

export function formatProblem(file: string, problem: ConfigProblem): string {
  const where = `${file}:${problem.line}`;
  return problem.field === ''
    ? `${where}: ${problem.message}`
    : `${where}: ${problem.field}: ${problem.message}`;
}

/** ERR_CONFIG with one message line per problem, sorted by line (ties keep the order found). */
export class ConfigError extends OverlayError {
  readonly problems: readonly ConfigProblem[];

  constructor(file: string, problems: readonly ConfigProblem[]) {
    const sorted = [...problems].sort((a, b) => a.line - b.line);
    super('ERR_CONFIG', sorted.map((p) => formatProblem(file, p)).join('\n'));
    this.problems = sorted;
  }
}
