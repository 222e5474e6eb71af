// Public library API of sae-match. The modules mirror the native files they drive:
// lap.ts <-> native/core/lap.cpp, cost.ts <-> native/core/cost.cpp, native.ts <-> native/binding/.
export { solveAssignment, checkCertificate, toCostMatrix, InfeasibleError } from './lap.js';
export type { CostMatrix, Assignment, Certificate, SolveOptions, CertificateOptions, SolverStats } from './lap.js';
export { costMatrix } from './cost.js';
export type { FeatureMatrix, CostMetric, GemmKernel, CostOptions, CostResult } from './cost.js';
export { readNpy, writeNpy, decodeNpy, encodeNpy } from './npy.js';
export type { NpyArray, NpyDtype } from './npy.js';
export { makeInstance, FAMILIES } from './instances.js';
export type { Family, Instance } from './instances.js';
export { nativeInfo } from './native.js';
export type { NativeInfo } from './native.js';
export { SaeMatchInputError, SaeMatchInternalError } from './errors.js';
