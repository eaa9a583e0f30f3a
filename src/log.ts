// One readable line per event on stderr: `2026-11-25T14:40:00.123Z info route: ...`.
// Components take a Logger so tests can capture or silence it.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  child(scope: string): Logger;
}

export function isLogLevel(s: string): s is LogLevel {
  return s in RANK;
}

export function createLogger(
  level: LogLevel = 'info',
  write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
  scope = '',
): Logger {
  const min = RANK[level];
  const emit = (lvl: LogLevel, msg: string): void => {
    if (RANK[lvl] < min) return;
    write(`${new Date().toISOString()} ${lvl} ${scope ? scope + ': ' : ''}${msg}`);
  };
  return {
    debug: (m) => emit('debug', m),
    info: (m) => emit('info', m),
    warn: (m) => emit('warn', m),
    error: (m) => emit('error', m),
    child: (s) => createLogger(level, write, scope ? `${scope}.${s}` : s),
  };
}

export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};
