/**
 * Text output of the command-line interface: number formatting, aligned
 * tables and a progress reporter that redraws one line on a terminal and
 * prints occasional plain lines elsewhere (logs, CI).
 */

/** Formats an integer with thousands separators, such as 1,843,200. */
export function formatInteger(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** Formats a number with a fixed number of decimals; null and non-finite values print as "n/a" or their name. */
export function formatFixed(value: number | null, decimals: number): string {
  if (value === null) return 'n/a';
  if (!Number.isFinite(value)) return String(value);
  const text = value.toFixed(decimals);
  // A tiny negative value, such as the -0 that an entropy of one block gives, would print as "-0.000".
  return /^-0\.?0*$/.test(text) ? text.slice(1) : text;
}

/** Formats a share in [0, 1] as a percentage, such as 0.1234 as "12.3%". */
export function formatPercent(share: number | null, decimals = 1): string {
  if (share === null) return 'n/a';
  if (!Number.isFinite(share)) return String(share);
  return `${(share * 100).toFixed(decimals)}%`;
}

/** Formats a lambda for labels, such as 0.4 as "0.4" and 1 as "1". */
export function formatLambda(lambda: number): string {
  return String(Number(lambda.toFixed(4)));
}

/** Formats a duration in seconds as "0.4s", "12s", "3m 05s" or "1h 02m". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 9.95) return `${seconds.toFixed(1)}s`;
  const total = Math.round(seconds);
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const rest = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (hours > 0) return `${hours}h ${pad(minutes)}m`;
  if (minutes > 0) return `${minutes}m ${pad(rest)}s`;
  return `${rest}s`;
}

/** Splits text into lines of at most `width` characters at spaces; a longer word gets a line of its own. */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines;
}

export interface Column {
  header: string;
  /** Numbers read best right-aligned; text left-aligned (the default). */
  align?: 'left' | 'right';
}

/**
 * Renders rows under a header line and a rule of dashes, each column as wide
 * as its widest cell, two spaces apart. Returns the lines joined by "\n",
 * without a trailing newline.
 */
export function renderTable(columns: Column[], rows: string[][]): string {
  const widths = columns.map((column, index) =>
    Math.max(column.header.length, ...rows.map((row) => (row[index] ?? '').length)),
  );
  const line = (cells: string[]) =>
    columns
      .map((column, index) => {
        const cell = cells[index] ?? '';
        return column.align === 'right' ? cell.padStart(widths[index]) : cell.padEnd(widths[index]);
      })
      .join('  ')
      .trimEnd();
  const rule = widths.map((width) => '-'.repeat(width)).join('  ');
  return [line(columns.map((column) => column.header)), rule, ...rows.map(line)].join('\n');
}

/** Renders "label   value" lines with the values aligned. */
export function renderKeyValues(pairs: [string, string][], indent = '  '): string {
  const width = Math.max(0, ...pairs.map(([key]) => key.length));
  return pairs.map(([key, value]) => `${indent}${key.padEnd(width)}  ${value}`).join('\n');
}

/**
 * Returns key-value rows of the backend in use and, one line each, why the
 * faster backends before it were skipped, for `renderKeyValues`.
 */
export function backendPairs(backend: string, skipped: readonly string[]): [string, string][] {
  const pairs: [string, string][] = [['backend', backend]];
  skipped.forEach((reason, index) => pairs.push([index === 0 ? 'skipped' : '', reason]));
  return pairs;
}

/** Renders a bar of `width` characters, filled in proportion to `share` in [0, 1]. */
export function renderBar(share: number, width: number): string {
  const clamped = Math.min(1, Math.max(0, Number.isFinite(share) ? share : 0));
  const filled = Math.round(clamped * width);
  return '#'.repeat(filled) + '-'.repeat(width - filled);
}

/** Contents of one progress line: a count of finished units, and details such as loss and ETA. */
export interface ProgressState {
  /** Label before the bar, such as "train" or "lambda 0.4". */
  label: string;
  done: number;
  total: number;
  /** Plural unit of `done`, such as "steps" or "batches". */
  unit: string;
  /** Further fields, each already formatted, such as "loss 4.123 nats". */
  details: string[];
  /** Share of the work done in [0, 1] when it is not done / total, as in a run with a time budget. */
  share?: number;
}

const BAR_WIDTH = 20;
const MIN_BAR_WIDTH = 5;

/**
 * Renders one progress line, such as
 * `train [##########----------] 450/900 steps  50%  loss 4.123 nats  ETA 3m 05s`.
 * A line longer than `maxWidth` gets a shorter bar, down to 5 characters, then
 * no bar, and is then cut to `maxWidth`.
 */
export function renderProgressLine(state: ProgressState, maxWidth = Infinity): string {
  const share = state.share ?? (state.total > 0 ? state.done / state.total : 0);
  const percent = `${Math.floor(share * 100)}%`;
  const count = `${state.done}/${state.total} ${state.unit}`;
  const build = (barWidth: number) => {
    const bar = barWidth > 0 ? ` [${renderBar(share, barWidth)}]` : '';
    return [`${state.label}${bar} ${count}`, percent, ...state.details].join('  ');
  };
  const full = build(BAR_WIDTH);
  if (full.length <= maxWidth) return full;
  const fitted = build(Math.max(MIN_BAR_WIDTH, BAR_WIDTH - (full.length - maxWidth)));
  if (fitted.length <= maxWidth) return fitted;
  const bare = build(0);
  return bare.length > maxWidth ? bare.slice(0, Math.max(0, maxWidth)) : bare;
}

/** The part of a writable stream the reporter uses; `process.stderr` fits. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressReporterOptions {
  /** Redraw one line in place (a terminal) or print plain lines (a log). Default: `stream.isTTY`. */
  interactive?: boolean;
  /** Off a terminal, print when progress passes another multiple of this share (default 0.1). */
  plainShare?: number;
  /** Off a terminal, print at least this often while progress changes, in seconds (default 30). */
  plainIntervalSeconds?: number;
  /** On a terminal, redraw at most this often, in seconds (default 0.1). */
  redrawIntervalSeconds?: number;
  /** Clock in milliseconds, replaceable in tests. */
  now?: () => number;
}

/**
 * Shows progress on a stream. On a terminal it redraws one line in place,
 * and notes printed meanwhile appear above it. Off a terminal it prints a
 * plain line each time progress passes another `plainShare` of the total or
 * `plainIntervalSeconds` have passed, and always at the end.
 */
export class ProgressReporter {
  private readonly stream: ProgressStream;
  private readonly interactive: boolean;
  private readonly plainShare: number;
  private readonly plainIntervalMs: number;
  private readonly redrawIntervalMs: number;
  private readonly now: () => number;
  private current: ProgressState | null = null;
  /** Text of the bar on screen, or empty when none is drawn. */
  private drawn = '';
  private lastDrawMs = -Infinity;
  private lastPlainMs: number;
  private lastPlainBucket = 0;
  private lastPlainKey = '';

  constructor(stream: ProgressStream, options: ProgressReporterOptions = {}) {
    this.stream = stream;
    this.interactive = options.interactive ?? Boolean(stream.isTTY);
    this.plainShare = options.plainShare ?? 0.1;
    this.plainIntervalMs = (options.plainIntervalSeconds ?? 30) * 1000;
    this.redrawIntervalMs = (options.redrawIntervalSeconds ?? 0.1) * 1000;
    this.now = options.now ?? (() => performance.now());
    this.lastPlainMs = this.now();
  }

  update(state: ProgressState): void {
    const labelChanged = this.current?.label !== state.label;
    this.current = state;
    const finished = state.done >= state.total;
    const time = this.now();
    if (this.interactive) {
      if (finished || labelChanged || time - this.lastDrawMs >= this.redrawIntervalMs) this.draw(time);
      return;
    }
    if (labelChanged) this.lastPlainBucket = 0;
    const bucket = state.total > 0 ? Math.floor(state.done / state.total / this.plainShare + 1e-9) : 0;
    const due = bucket > this.lastPlainBucket || time - this.lastPlainMs >= this.plainIntervalMs || finished;
    const key = `${state.label}:${state.done}`;
    if (due && key !== this.lastPlainKey) {
      this.stream.write(`${renderProgressLine(state)}\n`);
      this.lastPlainBucket = bucket;
      this.lastPlainMs = time;
      this.lastPlainKey = key;
    }
  }

  /** Prints a line of text; on a terminal the bar is redrawn below it. */
  note(text: string): void {
    if (this.interactive && this.drawn) {
      this.stream.write(`\r\x1b[2K${text}\n${this.drawn}`);
      return;
    }
    this.stream.write(`${text}\n`);
  }

  /** Ends the bar's line so that later output starts on a fresh line. */
  finish(): void {
    if (this.interactive && this.drawn) this.stream.write('\n');
    this.drawn = '';
    this.current = null;
  }

  private draw(time: number): void {
    if (!this.current) return;
    // Some terminals report 0 columns; fall back to 80 then.
    const width = (this.stream.columns || 80) - 1;
    this.drawn = renderProgressLine(this.current, width);
    this.stream.write(`\r\x1b[2K${this.drawn}`);
    this.lastDrawMs = time;
  }
}
