// SIGINT and SIGTERM (Ctrl-C, `kill`, Slurm's preemption and time limit) as a cancel: the running
// command stops at its next cancel point (a native worker checks between GEMM panels and Dijkstra
// rows), files being written are removed with their temporary names, and the process exits 130 or
// 143 so a rerun resumes. A second signal exits at once.
const controller = new AbortController();
let received: NodeJS.Signals | undefined;

for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.on(sig, () => {
    if (received) process.exit(sig === 'SIGINT' ? 130 : 143);
    received = sig;
    controller.abort();
  });

/** The signal every long command passes down; aborted by the first SIGINT or SIGTERM. */
export const interrupt: AbortSignal = controller.signal;

/** The exit code for a run the signal stopped: 128 + the signal's number. */
export function interruptExitCode(): number {
  return received === 'SIGTERM' ? 143 : 130;
}
