// Progress of long jobs: a one-line bar on stderr when it is a terminal, nothing otherwise (so logs
// and --json stdout stay clean). The jobs themselves only emit events; this file draws them.

export interface ProgressEvent {
  /** Pairs (or layers, or files) finished so far and in all. */
  done: number;
  total: number;
  /** What is happening now, e.g. "solve 3→4". */
  what: string;
}

export type ProgressListener = (e: ProgressEvent) => void;

/** Where a progress bar draws: a terminal stream (process.stderr), or anything shaped like one. */
export interface TextStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

export function progressBar(stream: TextStream = process.stderr, label = ''): { update: ProgressListener; end: () => void } {
  if (!stream.isTTY) return { update: () => undefined, end: () => undefined };
  const t0 = performance.now();
  let last = '';
  const update: ProgressListener = ({ done, total, what }) => {
    const width = 28;
    const frac = total > 0 ? Math.min(1, done / total) : 0;
    const fill = Math.round(frac * width);
    const secs = (performance.now() - t0) / 1000;
    const eta = done > 0 && done < total ? ` eta ${Math.round((secs / done) * (total - done))}s` : '';
    const line = `${label}[${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${done}/${total} ${secs.toFixed(1)}s${eta}  ${what}`;
    const cols = stream.columns ?? 100;
    const shown = line.length > cols - 1 ? line.slice(0, cols - 1) : line;
    if (shown !== last) stream.write(`\r${shown}\x1b[K`);
    last = shown;
  };
  return { update, end: () => (last ? stream.write('\r\x1b[K') : undefined) };
}
