// Top-k candidates per feature (the many-to-one view Feature Flow uses): for each feature of the first
// layer, the k features of the second with the smallest cost, read from the cost matrix that matching
// already built (native/core/cost/topk.cpp), so no second matrix product is needed.
import { SaeMatchInputError } from '../errors.js';
import { callNative } from '../binding/addon.js';

export interface TopK {
  k: number;
  /** [nRows, k] row-major: column indices sorted by cost (ties: lower index); -1 past nCols. */
  indices: Int32Array;
  /** [nRows, k]: their costs (NaN past nCols). */
  costs: Float32Array;
}

export async function topkCandidates(cost: { data: Float32Array; nRows: number; nCols: number }, k: number, signal?: AbortSignal): Promise<TopK> {
  if (!(cost.data instanceof Float32Array) || cost.data.length !== cost.nRows * cost.nCols)
    throw new SaeMatchInputError(`top-k: the cost matrix must be a float32 [${cost.nRows}, ${cost.nCols}] array`);
  if (!Number.isInteger(k) || k < 1) throw new SaeMatchInputError(`top-k: k must be an integer >= 1, got ${k}`);
  const indices = new Int32Array(cost.nRows * k), costs = new Float32Array(cost.nRows * k);
  await callNative((a, token) => a.topkRows({ cost: cost.data, nRows: cost.nRows, nCols: cost.nCols, k, indices, costs, threads: 0 }, token), signal);
  return { k, indices, costs };
}
