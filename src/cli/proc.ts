// Facts about this process that the CLI reports.
import { readFileSync } from 'node:fs';

/**
 * Peak resident memory of this process. Linux's VmHWM belongs to the address space made at exec;
 * getrusage's maxRSS is inherited across fork+exec, so a child of a big parent would report the
 * parent's peak.
 */
export function peakRssBytes(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}
