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
export { loadSae, checkSaeValues, detectSaeFormat, SAE_TENSORS } from './sae.js';
export type { Sae, SaeFormat, LoadSaeOptions } from './sae.js';
export { foldThreshold, layerFeatures, METRICS } from './fold.js';
export type { MatchMetric, FeatureOptions } from './fold.js';
export { discoverSuite, canonicalL0, parseLayers, parseL0, adjacentPairs } from './suite.js';
export type { Suite, SuiteLayer, DiscoverOptions, L0Choice } from './suite.js';
export { matchPair, matchSuite, matchFeatures } from './match.js';
export type { MatchOptions, PairResult, SuiteOptions, SuiteResult } from './match.js';
export { selectBackend, registerCudaBackend } from './backend.js';
export type { MatchBackend, DeviceChoice } from './backend.js';
export type { Manifest, ManifestPair, ManifestLayer } from './outputs.js';
export { readNpz, writeNpz, listNpz } from './npz.js';
export { readSafetensors, writeSafetensors } from './safetensors.js';
export { writeSynthSuite, readSynthTruth, KIND } from './synth.js';
export type { SynthOptions, SynthSummary } from './synth.js';
export { runDemo } from './demo.js';
