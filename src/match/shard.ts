// Sharding a suite (or a plan of suites) over N processes of a cluster's own scheduler: Slurm array
// jobs, Kubernetes Indexed Jobs, or N shells. Every process computes the same assignment of pairs to
// shards from the same inputs, so N processes together do every pair exactly once, with no
// coordinator: the output folder's per-pair records (folder.ts) are the only shared state.
import { SaeMatchInputError } from '../errors.js';

export interface Shard {
  /** 0 ≤ index < count. */
  index: number;
  count: number;
  /** Where K/N came from, in words (printed by the CLI). */
  source: string;
}

/** A pair to shard: a stable id (suite name and layers) and its estimated cost. */
export interface ShardItem {
  id: string;
  cost: number;
}

const int = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v.trim()) ? Number(v) : undefined);

/**
 * `K/N` (K from 0 to N−1), `auto` (Slurm: SLURM_ARRAY_TASK_ID with the array's _MIN, _MAX, _STEP and
 * _COUNT, whatever its range and step) or `auto/N` (Kubernetes: JOB_COMPLETION_INDEX, or Slurm).
 */
export function parseShard(spec: string, env: Record<string, string | undefined> = process.env): Shard {
  const fixed = /^(\d+)\/(\d+)$/.exec(spec);
  if (fixed) {
    const [index, count] = [Number(fixed[1]), Number(fixed[2])];
    if (count < 1 || index >= count) throw new SaeMatchInputError(`--shard ${spec}: expected K/N with 0 <= K < N`);
    return { index, count, source: `--shard ${spec}` };
  }
  const auto = /^auto(?:\/(\d+))?$/.exec(spec);
  if (!auto) throw new SaeMatchInputError(`--shard: expected K/N (0 <= K < N), auto (a Slurm array task) or auto/N (a Kubernetes Indexed Job), got '${spec}'`);
  const given = auto[1] === undefined ? undefined : Number(auto[1]);
  const task = int(env.SLURM_ARRAY_TASK_ID);
  if (task !== undefined) {
    const min = int(env.SLURM_ARRAY_TASK_MIN) ?? 0;
    const step = int(env.SLURM_ARRAY_TASK_STEP) ?? 1;
    const max = int(env.SLURM_ARRAY_TASK_MAX);
    // _COUNT is the number of tasks; with a step, (max − min)/step + 1 is the same number.
    const count = int(env.SLURM_ARRAY_TASK_COUNT) ?? (max !== undefined ? Math.floor((max - min) / step) + 1 : undefined) ?? given;
    if (count === undefined) throw new SaeMatchInputError('--shard auto: SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor _MAX is: give --shard auto/N');
    if ((task - min) % step !== 0) throw new SaeMatchInputError(`--shard auto: SLURM_ARRAY_TASK_ID ${task} is not min ${min} + a multiple of step ${step}`);
    const index = (task - min) / step;
    if (given !== undefined && given !== count) throw new SaeMatchInputError(`--shard auto/${given}: the Slurm array has ${count} tasks`);
    if (index < 0 || index >= count) throw new SaeMatchInputError(`--shard auto: task ${task} is outside the array (min ${min}, step ${step}, ${count} tasks)`);
    return { index, count, source: `Slurm array task ${task} (min ${min}, step ${step}, ${count} tasks): shard ${index}/${count}` };
  }
  const k8s = int(env.JOB_COMPLETION_INDEX);
  if (k8s !== undefined) {
    if (given === undefined) throw new SaeMatchInputError('--shard auto: JOB_COMPLETION_INDEX is set (a Kubernetes Indexed Job); give the completions as --shard auto/N');
    if (k8s >= given) throw new SaeMatchInputError(`--shard auto/${given}: JOB_COMPLETION_INDEX ${k8s} is not below ${given}`);
    return { index: k8s, count: given, source: `Kubernetes JOB_COMPLETION_INDEX ${k8s} of ${given}: shard ${k8s}/${given}` };
  }
  throw new SaeMatchInputError('--shard auto: neither SLURM_ARRAY_TASK_ID (sbatch --array) nor JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set; give --shard K/N');
}

/**
 * The items of shard `index`: longest-processing-time first (items by decreasing cost, each to the
 * least loaded shard, ties to the lowest shard and the lowest id), which keeps the busiest shard within
 * 4/3 of the best possible split. Deterministic in the items alone, so every shard agrees.
 */
export function shardItems<T extends ShardItem>(items: T[], shard: Pick<Shard, 'index' | 'count'>): T[] {
  const order = [...items].sort((a, b) => b.cost - a.cost || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const load = new Float64Array(shard.count);
  const mine: T[] = [];
  for (const it of order) {
    let best = 0;
    for (let s = 1; s < shard.count; s++) if (load[s]! < load[best]!) best = s;
    load[best]! += Math.max(it.cost, 1);
    if (best === shard.index) mine.push(it);
  }
  return mine;
}

/** A pair's estimated cost: the cost-matrix GEMM, n_from·n_to·(features' length), and the solve, ~n². */
export function pairCost(nFrom: number, nTo: number, dim: number): number {
  return nFrom * nTo * (dim + 64);
}
