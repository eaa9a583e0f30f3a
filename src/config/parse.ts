// peers.yaml text → OverlayConfig. Pure: no file or network access, so `overlayd check`, the
// daemon and reload all validate the same way, and tests feed it strings.
//
// The file is the same at every site, so a mistake in it breaks the whole network: the parser
// collects every problem with its line and reports them together (ConfigError) rather than
// stopping at the first.
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { LineCounter, isMap, parseDocument } from 'yaml';
import { nodeIdFromPublicKey } from '../identity/node-id.js';
import { ConfigError, type ConfigProblem } from './config-error.js';
import type { OverlayConfig } from './types.js';
import { DEFAULT_PORT, validateNetwork } from './validate-network.js';
import { validatePeers, type NodeIdOf } from './validate-peers.js';
import { ConfigReader, describe } from './yaml-reader.js';

const TOP_FIELDS = ['network', 'peers'] as const;
const TOP_SHAPE = "expected a mapping with 'network' and 'peers' at the top level";

export interface ParseOptions {
  /** NodeId derivation; replaceable so tests can force the collision check to fire. */
  nodeIdOf?: NodeIdOf;
}

/**
 * Parses and validates peers.yaml. `file` names the file in messages exactly as given (use the
 * path the operator typed); the returned config holds its absolute form.
 * Throws ConfigError (ERR_CONFIG) listing every problem, one `file:line: field: problem` per line.
 */
export function parseConfig(text: string, file: string, options: ParseOptions = {}): OverlayConfig {
  const lines = new LineCounter();
  // uniqueKeys off: repeated fields are reported by ConfigReader with their path and both lines.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  if (doc.errors.length > 0) {
    // A document with syntax errors is only partly built; schema messages about it would mislead.
    const problems: ConfigProblem[] = doc.errors.map((e) => ({
      line: lines.linePos(e.pos[0]).line,
      field: '',
      message: `YAML syntax error: ${e.message}`,
    }));
    throw new ConfigError(file, problems);
  }

  const reader = new ConfigReader(doc, lines);
  const root = doc.contents;
  if (!isMap(root)) {
    const problem = root === null ? `the file is empty; ${TOP_SHAPE}` : `${TOP_SHAPE}, got ${describe(root)}`;
    throw new ConfigError(file, [{ line: reader.lineOf(root, 1), field: '', message: problem }]);
  }

  const rootLine = reader.lineOf(root, 1);
  const fields = reader.fields(root, '', rootLine, TOP_FIELDS, TOP_FIELDS);
  const networkField = fields.get('network');
  const net = networkField === undefined ? undefined : validateNetwork(reader, networkField);
  const peersField = fields.get('peers');
  const peers =
    peersField === undefined
      ? []
      : validatePeers(
          reader,
          peersField,
          // Without a network block, peers are still checked on their own (prefix checks skipped).
          net ?? { network: null, prefix: null, prefix6: null, port: DEFAULT_PORT },
          options.nodeIdOf ?? nodeIdFromPublicKey,
        );

  // A missing or wrong network block always records a problem, so the second test only narrows.
  if (reader.problems.length > 0 || net === undefined || net.network === null) {
    throw new ConfigError(file, reader.problems);
  }
  const sha256 = createHash('sha256').update(text, 'utf8').digest('hex');
  return { file: resolve(file), sha256, network: net.network, peers };
}
