// Engine options: how the native engine computes, never what it finds. Every switch below leaves the
// results the same (the assignment, its total and its certificate; the cost matrix and evaluation up
// to float rounding where a kernel differs) and exists for tests that cover both paths and for
// benchmarks. They used to be environment variables read deep in the code; now they are one typed
// object, checked here once and passed down explicitly (FAISS's config structs in the same role).
// The environment variables still work, read in one place: engineFromEnv.
import { SaeMatchInputError } from '../errors.js';

export interface EngineOptions {
  /**
   * Threads of JV phase 4 (the shortest augmenting paths). 2 (default): each relaxation is split with
   * a helper thread when it pays, i.e. at least 4096 columns, at least 4 rows left for phase 4 and at
   * least 2 hardware threads; 1: phase 4 stays on the calling thread. Was SAE_MATCH_LAP_THREADS=1.
   */
  lapThreads?: 1 | 2;
  /**
   * Rows of the cost matrix computed per GEMM call (default 2048, at least 16). Panels are where a
   * cancellation takes effect; every panel's GEMM repacks all of the second layer's features, so
   * tall panels are faster (BENCHMARKS.md). Was SAE_MATCH_COST_PANEL.
   */
  costPanelRows?: number;
  /**
   * 'auto' (default): evaluation uses BLAS and AVX2 where this build and CPU have them; 'generic':
   * the portable kernels (built-in GEMM, plain decode loops) that machines without them run, so the
   * tests cover that path. Was SAE_MATCH_EVAL_GENERIC (any value but empty or 0).
   */
  evalKernel?: 'auto' | 'generic';
  /**
   * How the CPU backend initialises JV on square float32 pairs of at least CPU_PARALLEL_INIT_MIN
   * (4096) features: 'parallel' (default) the data-parallel phases 1-3 on all cores, within the
   * row scans the sequential phase 3 may make, then phase 4 (solveAssignment's init 'auto'); 'jv'
   * the sequential phases of the paper. Smaller or other pairs always take 'jv'. Was
   * SAE_MATCH_CPU_INIT=jv.
   */
  cpuInit?: 'parallel' | 'jv';
  /**
   * Bidding rounds of the CUDA backend's parallel initialisation on the device (default 2048, the
   * backend's CUDA_INIT_ROUNDS; an integer >= 0). Was SAE_MATCH_CUDA_ROUNDS.
   */
  cudaRounds?: number;
  /**
   * true (default): the CUDA backend runs phase 4 on the device too; false leaves it to the host
   * (the CPU/GPU hybrid), for comparison. Was SAE_MATCH_CUDA_PHASE4=0.
   */
  cudaPhase4?: boolean;
  /**
   * The CUDA cost kernel: 'pipelined' (default) or 'simple', the reference kernel the other is
   * checked against. Was SAE_MATCH_CUDA_KERNEL=simple.
   */
  cudaKernel?: 'pipelined' | 'simple';
}

/** Every engine option decided: what resolveEngine returns and the native calls receive. */
export type Engine = Required<EngineOptions>;

export const ENGINE_DEFAULTS: Readonly<Engine> = Object.freeze({
  lapThreads: 2,
  costPanelRows: 2048,
  evalKernel: 'auto',
  cpuInit: 'parallel',
  cudaRounds: 2048,
  cudaPhase4: true,
  cudaKernel: 'pipelined',
});

const KEYS = Object.keys(ENGINE_DEFAULTS) as Array<keyof Engine>;
const INT32_MAX = 0x7fffffff;

const choice = <T extends string>(values: readonly T[]) => (key: string, v: unknown): T => {
  if (!values.includes(v as T)) throw new SaeMatchInputError(`engine option ${key} must be ${values.map((x) => `'${x}'`).join(' or ')}, got ${describe(v)}`);
  return v as T;
};
const integer = (min: number) => (key: string, v: unknown): number => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > INT32_MAX)
    throw new SaeMatchInputError(`engine option ${key} must be an integer in [${min}, ${INT32_MAX}], got ${describe(v)}`);
  return v;
};
const boolean = (key: string, v: unknown): boolean => {
  if (typeof v !== 'boolean') throw new SaeMatchInputError(`engine option ${key} must be true or false, got ${describe(v)}`);
  return v;
};
const CHECK: { [K in keyof Engine]: (key: string, v: unknown) => Engine[K] } = {
  lapThreads: (key, v) => {
    if (v !== 1 && v !== 2) throw new SaeMatchInputError(`engine option ${key} must be 1 or 2, got ${describe(v)}`);
    return v;
  },
  costPanelRows: integer(16),
  evalKernel: choice(['auto', 'generic'] as const),
  cpuInit: choice(['parallel', 'jv'] as const),
  cudaRounds: integer(0),
  cudaPhase4: boolean,
  cudaKernel: choice(['pipelined', 'simple'] as const),
};

function describe(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : String(v);
}

/** Checks an EngineOptions object from a caller: known keys, values of the documented types and ranges. */
export function validateEngineOptions(opts: unknown): EngineOptions {
  if (opts === undefined || opts === null) return {};
  if (typeof opts !== 'object' || Array.isArray(opts)) throw new SaeMatchInputError(`engine options must be an object, got ${describe(opts)}`);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(opts)) {
    if (!(KEYS as string[]).includes(key)) throw new SaeMatchInputError(`unknown engine option '${key}' (known: ${KEYS.join(', ')})`);
    if (v !== undefined) out[key] = CHECK[key as keyof Engine](key, v);
  }
  return out as EngineOptions;
}

/** C's atoi as glibc has it: (int) strtol(s, NULL, 10), so the old variables keep their meaning. */
function atoi(s: string): number {
  const m = /^[\t\n\v\f\r ]*([+-]?)(\d+)/.exec(s);
  if (!m) return 0;
  let x = BigInt(m[2]!);
  if (m[1] === '-') x = -x;
  const LONG_MAX = 2n ** 63n - 1n, LONG_MIN = -(2n ** 63n);
  x = x > LONG_MAX ? LONG_MAX : x < LONG_MIN ? LONG_MIN : x;
  return Number(BigInt.asIntN(32, x));
}

/**
 * The engine options the environment sets, for backwards compatibility: exactly the variables that
 * used to be read deep in the code, with their old meaning. A variable the old code would have
 * ignored sets nothing (so the default stays); values it would have clamped are clamped.
 *   SAE_MATCH_LAP_THREADS   atoi(value) = 1       -> lapThreads 1
 *   SAE_MATCH_COST_PANEL    set (even empty)      -> costPanelRows max(16, atoi(value))
 *   SAE_MATCH_EVAL_GENERIC  non-empty and not "0" -> evalKernel 'generic'
 *   SAE_MATCH_CPU_INIT      "jv"                  -> cpuInit 'jv'
 *   SAE_MATCH_CUDA_ROUNDS   Number(value) an integer in [0, 2^31-1] -> cudaRounds
 *   SAE_MATCH_CUDA_PHASE4   "0"                   -> cudaPhase4 false
 *   SAE_MATCH_CUDA_KERNEL   "simple"              -> cudaKernel 'simple'
 */
export function engineFromEnv(env: Record<string, string | undefined> = process.env): EngineOptions {
  const e: EngineOptions = {};
  const lap = env.SAE_MATCH_LAP_THREADS;
  if (lap !== undefined && atoi(lap) === 1) e.lapThreads = 1;
  const panel = env.SAE_MATCH_COST_PANEL;
  if (panel !== undefined) e.costPanelRows = Math.max(16, atoi(panel));
  const generic = env.SAE_MATCH_EVAL_GENERIC;
  if (generic !== undefined && generic !== '' && generic !== '0') e.evalKernel = 'generic';
  if (env.SAE_MATCH_CPU_INIT === 'jv') e.cpuInit = 'jv';
  const rounds = Number(env.SAE_MATCH_CUDA_ROUNDS);
  if (Number.isInteger(rounds) && rounds >= 0 && rounds <= INT32_MAX) e.cudaRounds = rounds;
  if (env.SAE_MATCH_CUDA_PHASE4 === '0') e.cudaPhase4 = false;
  if (env.SAE_MATCH_CUDA_KERNEL === 'simple') e.cudaKernel = 'simple';
  return e;
}

/**
 * Engine options from the text of a command-line flag, `key=value,key=value` (e.g.
 * `--engine lapThreads=1,cudaKernel=simple`): numbers for lapThreads, costPanelRows and cudaRounds,
 * true/false for cudaPhase4, the names otherwise. Checked like any EngineOptions.
 */
export function parseEngineOptions(text: string): EngineOptions {
  const opts: Record<string, unknown> = {};
  for (const item of text.split(',')) {
    const part = item.trim();
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new SaeMatchInputError(`engine option '${part}' is not key=value (known keys: ${KEYS.join(', ')})`);
    const key = part.slice(0, eq).trim(), raw = part.slice(eq + 1).trim();
    if (!(KEYS as string[]).includes(key)) throw new SaeMatchInputError(`unknown engine option '${key}' (known: ${KEYS.join(', ')})`);
    if (key in opts) throw new SaeMatchInputError(`engine option '${key}' is given twice`);
    const kind = typeof ENGINE_DEFAULTS[key as keyof Engine];
    opts[key] = kind === 'number' ? (/^[+-]?\d+$/.test(raw) ? Number(raw) : raw)
      : kind === 'boolean' ? (raw === 'true' ? true : raw === 'false' ? false : raw)
      : raw;
  }
  return validateEngineOptions(opts);
}

/**
 * Every engine option decided: the caller's `opts` (checked), over what the environment sets
 * (engineFromEnv), over ENGINE_DEFAULTS. The entry points call it once and pass the result down.
 */
export function resolveEngine(opts?: EngineOptions): Engine {
  return { ...ENGINE_DEFAULTS, ...engineFromEnv(), ...validateEngineOptions(opts) };
}
