// Structured logging: one JSON object per line, with time, level, component and message.
// Small on purpose: the CNI path and CLIs import it, so it must cost nothing at start-up.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** A logger adding `fields`; `opts.level` (read at every line) replaces the level, so it can change live. */
  child(fields: Record<string, unknown>, opts?: { level?: () => LogLevel }): Logger;
}

export interface LoggerOptions {
  /** The least severe level written; a function is read at every line (a level that changes live). */
  level?: LogLevel | (() => LogLevel);
  write?: (line: string) => void;
  now?: () => Date;
}

export function parseLogLevel(text: string | undefined, fallback: LogLevel = 'info'): LogLevel {
  const t = (text ?? '').toLowerCase();
  if (t === 'warning') return 'warn';
  return t in ORDER ? (t as LogLevel) : fallback;
}

export function createLogger(base: Record<string, unknown>, opts: LoggerOptions = {}): Logger {
  const least = opts.level ?? 'info';
  const min = typeof least === 'function' ? () => ORDER[least()] : () => ORDER[least];
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const now = opts.now ?? (() => new Date());
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < min()) return;
    const rec: Record<string, unknown> = { time: now().toISOString(), level, ...base, msg, ...fields };
    for (const [k, v] of Object.entries(rec)) if (v instanceof Error) rec[k] = { message: v.message, name: v.name, ...(('code' in v) ? { code: (v as { code: unknown }).code } : {}) };
    write(JSON.stringify(rec));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields, o) => createLogger({ ...base, ...fields }, o?.level ? { ...opts, level: o.level } : opts),
  };
}

/** A logger that drops everything (tests, quiet CLIs). */
export const nullLogger: Logger = createLogger({}, { write: () => {} , level: 'error' });
