// Which method solves a pair: the dense matrix or the sparse candidates with pricing. One policy,
// used by `pair`, `suite` and the API alike; the choice and its reason are recorded per pair.
import { SaeMatchInputError } from '../errors.js';
import { availableMemory } from '../io/memory.js';
import type { MatchMethod } from '../match/contract.js';
import { checkCandidates, DEFAULT_CANDIDATES } from './sparse.js';

export type MethodChoice = 'auto' | MatchMethod;
export const METHODS: readonly MethodChoice[] = ['auto', 'dense', 'sparse'];

/**
 * Square pairs at least this wide go sparse under `auto`. Measured (BENCHMARKS.md, "The sparse
 * method"): at 16384 dense is the faster (16.0 vs 22.4 s) in 1.6 GiB; at 65536 sparse takes about
 * what dense does (320 s, against 509 s measured with a slower BLAS) in 3.4 GiB instead of 19.4.
 */
export const SPARSE_FROM = 65536;

export interface MethodDecision {
  method: MatchMethod;
  candidates: number;
  reason: string;
}

/** The method for an nFrom x nTo pair under `choice`, and why (two widths: the smaller side fully assigned either way). */
export function decideMethod(nFrom: number, nTo: number, choice: MethodChoice = 'auto', candidates = DEFAULT_CANDIDATES): MethodDecision {
  if (!METHODS.includes(choice)) throw new SaeMatchInputError(`unknown method '${String(choice)}' (auto, dense or sparse)`);
  checkCandidates(candidates);
  if (choice === 'sparse') return { method: 'sparse', candidates, reason: 'asked for' };
  if (choice === 'dense') return { method: 'dense', candidates, reason: 'asked for' };
  const bytes = 4 * nFrom * nTo;
  const avail = availableMemory();
  if (avail && bytes > 0.8 * avail.bytes)
    return { method: 'sparse', candidates, reason: `the dense matrix (${(bytes / 2 ** 30).toFixed(1)} GiB) does not fit the ${(avail.bytes / 2 ** 30).toFixed(1)} GiB available (${avail.source})` };
  // Two widths compare by area: a 16k x 262k pair holds what a 65k square one does.
  const shape = nFrom === nTo ? `${nFrom} features` : `${nFrom} x ${nTo} features`;
  if (nFrom * nTo >= SPARSE_FROM * SPARSE_FROM)
    return { method: 'sparse', candidates, reason: `${shape}: at least ${SPARSE_FROM}² pairs, where sparse is as fast in a fifth of the memory` };
  return { method: 'dense', candidates, reason: `${shape}: below ${SPARSE_FROM}² pairs, where dense is the faster` };
}
