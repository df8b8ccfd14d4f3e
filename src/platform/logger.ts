/**
 * Structured logs: one JSON object per line with standard fields (`ts`, `level`, `component`,
 * `node`, `msg`, then e.g. `peer`). One logger per component, made with {@link Logger.child}.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Record<string, unknown>;

export interface LogSink {
  write(line: string): void;
}

export class Logger {
  constructor(
    private readonly sink: LogSink,
    private readonly level: LogLevel,
    private readonly base: LogFields,
    private readonly now: () => Date = () => new Date(),
  ) {}

  child(fields: LogFields): Logger {
    return new Logger(this.sink, this.level, { ...this.base, ...fields }, this.now);
  }

  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }

  enabled(level: LogLevel): boolean {
    return RANK[level] >= RANK[this.level];
  }

  private log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (!this.enabled(level)) return;
    const record = { ts: this.now().toISOString(), level, ...this.base, msg, ...fields };
    let line: string;
    try {
      line = JSON.stringify(record);
    } catch {
      line = JSON.stringify({
        ts: record.ts,
        level,
        ...this.base,
        msg,
        note: 'unserialisable fields',
      });
    }
    this.sink.write(line + '\n');
  }
}

export function stderrLogger(level: LogLevel, base: LogFields): Logger {
  return new Logger({ write: (line) => process.stderr.write(line) }, level, base);
}
