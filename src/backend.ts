// Where a pair's cost matrix and assignment are computed. One interface, one implementation per
// device (FAISS-style): the CPU backend (BLAS/built-in GEMM + native JV) is always there; a CUDA
// backend registers itself here when the build and the machine have one. The caller is told which
// backend ran and why the others did not.
import { SaeMatchInputError } from './errors.js';
import { costMatrix, type CostMetric, type CostResult, type FeatureMatrix } from './cost.js';
import { checkCertificate, solveAssignment, type Assignment, type Certificate, type CostMatrix } from './lap.js';
import { nativeInfo } from './native.js';

export type DeviceChoice = 'auto' | 'cpu' | 'cuda';
export const DEVICES: readonly DeviceChoice[] = ['auto', 'cpu', 'cuda'];

export interface MatchBackend {
  readonly device: 'cpu' | 'cuda';
  /** e.g. "cpu (openblas, 2 threads)". */
  readonly description: string;
  costMatrix(a: FeatureMatrix, b: FeatureMatrix, metric: CostMetric, out?: Float32Array, signal?: AbortSignal): Promise<CostResult>;
  solveAssignment(cost: CostMatrix, signal?: AbortSignal): Promise<Assignment>;
  /** The dual optimality check of the assignment just found, on the same cost matrix. */
  checkCertificate(cost: CostMatrix, solution: Assignment, signal?: AbortSignal): Promise<Certificate>;
}

export function cpuBackend(): MatchBackend {
  const info = nativeInfo();
  return {
    device: 'cpu',
    description: `cpu (${info.haveBlas ? info.blas.split(' ')[0] : 'built-in GEMM'}, ${info.threads} threads)`,
    costMatrix: (a, b, metric, out, signal) => costMatrix(a, b, { metric, out, signal }),
    solveAssignment: (cost, signal) => solveAssignment(cost, { signal }),
    checkCertificate: (cost, sol, signal) => checkCertificate(cost, sol, { signal }),
  };
}

/** A CUDA backend provider: returns the backend, or the reason it cannot run here. */
export type CudaProvider = () => MatchBackend | { unavailable: string };
let cudaProvider: CudaProvider | undefined;

/** The GPU backend plugs in here. */
export function registerCudaBackend(provider: CudaProvider): void {
  cudaProvider = provider;
}

function cudaBackend(): MatchBackend | { unavailable: string } {
  const info = nativeInfo().cuda;
  if (!info.compiled) return { unavailable: `this build has no CUDA (${info.error})` };
  if (info.deviceCount === 0) return { unavailable: `no usable CUDA device (${info.error})` };
  if (!cudaProvider) return { unavailable: 'this version has no CUDA matching backend yet; the CPU path is exact and used instead' };
  return cudaProvider();
}

/** auto: CUDA when it can run, else CPU; cuda: CUDA or a clear error; cpu: CPU. */
export function selectBackend(choice: DeviceChoice = 'auto'): { backend: MatchBackend; reason: string } {
  if (!DEVICES.includes(choice)) throw new SaeMatchInputError(`unknown device '${choice}' (auto, cpu or cuda)`);
  if (choice === 'cpu') return { backend: cpuBackend(), reason: 'requested' };
  const cuda = cudaBackend();
  if ('unavailable' in cuda) {
    if (choice === 'cuda') throw new SaeMatchInputError(`--device cuda: ${cuda.unavailable}`);
    return { backend: cpuBackend(), reason: `CUDA not used: ${cuda.unavailable}` };
  }
  return { backend: cuda, reason: choice === 'cuda' ? 'requested' : 'CUDA device found' };
}
