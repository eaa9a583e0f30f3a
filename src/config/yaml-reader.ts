// Typed, line-aware reads from a parsed YAML document. Every read that fails records a problem
// (line, field path, message) and returns null, so validation carries on and reports everything
// wrong with the file at once; callers skip checks that depend on a value that was not readable.
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type Document,
  type LineCounter,
  type Node,
  type YAMLMap,
  type YAMLSeq,
} from 'yaml';
import type { ConfigProblem } from './config-error.js';

/** One field of a mapping, located for messages. */
export interface Field {
  /** Path for messages, e.g. `peers[1].address`. */
  path: string;
  /** 1-based line of the field's key. */
  line: number;
  /** The value with aliases resolved; null when YAML gave no node at all. */
  value: Node | null;
}

export function childPath(parent: string, name: string): string {
  return parent === '' ? name : `${parent}.${name}`;
}

/** How a value reads in "expected X, got Y" messages. */
export function describe(node: Node | null): string {
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (typeof v === 'string') return `the string ${JSON.stringify(v)}`;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  }
  return 'nothing';
}

function hasNoValue(node: Node | null): boolean {
  return node === null || (isScalar(node) && node.value === null);
}

export class ConfigReader {
  readonly problems: ConfigProblem[] = [];

  constructor(
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  report(line: number, field: string, message: string): void {
    this.problems.push({ line, field, message });
  }

  /** The 1-based line where `node` starts, or `fallback` for nodes without a source range. */
  lineOf(node: unknown, fallback: number): number {
    const start = isAlias(node) || isMap(node) || isSeq(node) || isScalar(node) ? node.range?.[0] : undefined;
    return start === undefined ? fallback : this.lines.linePos(start).line;
  }

  /** Follows a YAML alias (`*name`) to the node it names. */
  resolve(node: unknown): Node | null {
    if (isAlias(node)) return node.resolve(this.doc) ?? null;
    return isMap(node) || isSeq(node) || isScalar(node) ? node : null;
  }

  /**
   * The fields of a mapping by name. Unknown and repeated keys are reported (the first occurrence
   * wins), as are missing required ones, at `line`, the line where the mapping starts.
   */
  fields(
    map: YAMLMap,
    path: string,
    line: number,
    allowed: readonly string[],
    required: readonly string[],
  ): Map<string, Field> {
    const found = new Map<string, Field>();
    const allowedText = allowed.join(', ');
    for (const pair of map.items) {
      const keyLine = this.lineOf(pair.key, line);
      const key = this.resolve(pair.key);
      if (!isScalar(key) || key.value === null || typeof key.value === 'object') {
        this.report(keyLine, path, `field names must be plain words (allowed: ${allowedText})`);
        continue;
      }
      const name = String(key.value);
      const fieldPath = childPath(path, name);
      if (!allowed.includes(name)) {
        const near = allowed.find((a) => a.toLowerCase() === name.toLowerCase());
        const hint = near === undefined ? '' : `; did you mean '${near}'?`;
        this.report(keyLine, fieldPath, `unknown field '${name}'${hint} (allowed: ${allowedText})`);
        continue;
      }
      const first = found.get(name);
      if (first !== undefined) {
        this.report(keyLine, fieldPath, `field '${name}' appears twice (first at line ${first.line})`);
        continue;
      }
      found.set(name, { path: fieldPath, line: keyLine, value: this.resolve(pair.value) });
    }
    for (const name of required) {
      if (!found.has(name)) this.report(line, childPath(path, name), 'required field is missing');
    }
    return found;
  }

  map(field: Field): YAMLMap | null {
    if (isMap(field.value)) return field.value;
    this.report(field.line, field.path, `expected a mapping, got ${describe(field.value)}`);
    return null;
  }

  seq(field: Field, hint: string): YAMLSeq | null {
    if (isSeq(field.value)) return field.value;
    this.report(field.line, field.path, `expected a list, got ${describe(field.value)}${hint}`);
    return null;
  }

  string(field: Field): string | null {
    const node = field.value;
    if (isScalar(node) && typeof node.value === 'string') return node.value;
    if (hasNoValue(node)) {
      this.report(field.line, field.path, 'has no value');
    } else {
      const quote = isScalar(node) ? ' (quote it if it is meant as text)' : '';
      this.report(field.line, field.path, `expected a string, got ${describe(node)}${quote}`);
    }
    return null;
  }

  boolean(field: Field): boolean | null {
    const node = field.value;
    if (isScalar(node) && typeof node.value === 'boolean') return node.value;
    const got = hasNoValue(node) ? 'no value' : describe(node);
    this.report(field.line, field.path, `must be true or false, got ${got}`);
    return null;
  }

  integer(field: Field, min: number, max: number): number | null {
    const node = field.value;
    if (isScalar(node) && typeof node.value === 'number' && Number.isInteger(node.value)) {
      if (node.value >= min && node.value <= max) return node.value;
    }
    const got = hasNoValue(node) ? 'no value' : describe(node);
    this.report(field.line, field.path, `must be an integer from ${min} to ${max}, got ${got}`);
    return null;
  }
}
