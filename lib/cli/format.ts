/**
 * Numbers, times and tables for the command line's text output. Nothing here reads the locale or
 * the time zone: the same report prints the same characters on every machine.
 */

/** 12345 -> "12,345". */
export function count(n: number): string {
  const digits = String(Math.trunc(Math.abs(n)));
  return `${n < 0 ? '-' : ''}${digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}`;
}

/** A duration for people: "850 ms", "15.1 s", "2m05s", "1h02m". */
export function duration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(Math.round(ms / 100) / 10).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 3_600) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  const minutes = Math.round(seconds / 60);
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/** An instant as an offset from the trace's start: "+3m02.5s". */
export function offset(atMs: number, startMs: number): string {
  const ms = Math.max(0, atMs - startMs);
  const tenths = Math.round(ms / 100);
  const minutes = Math.floor(tenths / 600);
  const seconds = (tenths % 600) / 10;
  const secondsText = seconds.toFixed(1).padStart(4, '0');
  if (minutes < 60) return `+${minutes}m${secondsText}s`;
  return `+${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m${secondsText}s`;
}

/** Epoch ms as UTC ISO 8601 (the trace's times are epoch ms). */
export function iso(epochMs: number): string {
  return new Date(Math.round(epochMs)).toISOString();
}

/**
 * Columns padded to their widest cell: numbers (cells of `numeric` columns) right-aligned, text
 * left-aligned, two spaces between columns.
 */
export function table(header: readonly string[], rows: readonly (readonly string[])[], numeric: readonly boolean[]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (numeric[i] === true ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
