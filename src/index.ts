// The public API of sae-match: the matching pipeline in its order (read → validate → fold → cost →
// assign → match → analyse → report), then the low-level solver, cost matrix and certificate.
// Tooling (synthetic suites, the demo, benchmarks, LAP instance families) is the subpath
// 'sae-match/tools' (src/tools/index.ts).

// Errors: one class per exit code.
export { SaeMatchInputError, SaeMatchInternalError, SaeMatchDeviceError } from './errors.js';
export type { ProgressEvent, ProgressListener } from './progress.js';

// Read: the array formats SAEs arrive in.
export { readNpy, writeNpy, decodeNpy, encodeNpy } from './io/npy.js';
export type { NpyArray, NpyDtype } from './io/npy.js';
export { readNpz, listNpz } from './io/npz.js';
export { writeNpz } from './io/npz-write.js';
export { readSafetensors, writeSafetensors } from './io/safetensors.js';

// Validate and fold: one layer's SAE, a suite's layers.
export { loadSae, checkSaeValues, detectSaeFormat, describeSae, saeFiles, SAE_TENSORS } from './sae/load.js';
export type { Sae, SaeFormat, SaeArchitecture, SaeKind, SaeMeta, LoadSaeOptions } from './sae/load.js';
export { discoverSuite, canonicalL0, parseLayers, parseL0, adjacentPairs, L0_LABELS } from './sae/discover.js';
export type { Suite, SuiteLayer, DiscoverOptions, L0Choice } from './sae/discover.js';
export { foldThreshold, layerFeatures, metricParts, METRICS } from './sae/fold.js';
export type { MatchMetric, FeatureOptions } from './sae/fold.js';

// Match: a pair, a suite, the output folder and its resume rule.
export { matchPair, matchPairToFolder, matchFeatures } from './match/pair.js';
export type { MatchOptions, PairResult, PairToFolderOptions } from './match/pair.js';
export { matchSuite } from './match/suite.js';
export type { SuiteOptions, SuiteResult } from './match/suite.js';
export { readSuiteOutput, readManifest } from './match/folder.js';
export type { SuiteOutput, PairMatches } from './match/folder.js';
export { pairIsDone, pairKey, saeIdentity } from './match/resume.js';
export type { Manifest, ManifestPair, ManifestLayer, PairRecord } from './match/contract.js';

// Analyse and report.
export { unmatchedMask, unmatchedThreshold, pairSummaries, composeMatches, traceFeature, lifetimes, costQuantile, recordAnalysis } from './analysis/analyze.js';
export type { UnmatchedRule, TraceStep, Lifetimes } from './analysis/analyze.js';
export { evaluateSuite, evaluationIsCurrent, readEvaluation, HYBRID_QUANTILES } from './analysis/eval.js';
export type { SuiteEvaluation, PairEvaluation, EvaluateOptions } from './analysis/eval.js';
export { buildReport, writeReport, reportData } from './analysis/report.js';

// Where the work runs, and how the engine computes (threads, kernels: never what it finds).
export { resolveEngine, validateEngineOptions, parseEngineOptions, engineFromEnv, ENGINE_DEFAULTS } from './solve/engine.js';
export type { EngineOptions, Engine } from './solve/engine.js';
export { selectBackend, cpuBackend, nativeCudaBackend, solveAssignmentCuda, DEVICES } from './solve/backend.js';
export type { MatchBackend, DeviceChoice } from './solve/backend.js';
export { nativeInfo, setThreads, parallelCounters, blasRules } from './binding/addon.js';
export type { NativeInfo, ParallelCounters, BlasRules } from './binding/addon.js';

// Low level: the cost matrix, the assignment solver and its certificate, top-k candidates.
export { costMatrix } from './solve/cost.js';
export type { FeatureMatrix, CostMetric, GemmKernel, CostOptions, CostResult } from './solve/cost.js';
export { solveAssignment, checkCertificate, toCostMatrix, InfeasibleError, parallelInitReference } from './solve/lap.js';
export type { CostMatrix, Assignment, Certificate, SolveOptions, CertificateOptions, SolverStats } from './solve/lap.js';
export { topkCandidates } from './solve/topk.js';
export { sparseAssignment, sparseBytes, DEFAULT_CANDIDATES } from './solve/sparse.js';
export type { SparseOptions, SparseAssignment } from './solve/sparse.js';
export { decideMethod, METHODS, SPARSE_FROM } from './solve/method.js';
export type { MethodChoice, MethodDecision } from './solve/method.js';
export type { SparsePricing } from './binding/addon.js';
export type { TopK } from './solve/topk.js';
// Clusters: shards of a suite or a plan, and what an output folder holds while they run (README "On a cluster").
export { parseShard, shardItems } from './match/shard.js';
export type { Shard, ShardItem } from './match/shard.js';
export { makePlan, readPlan, writePlan, runPlan } from './match/plan.js';
export type { Plan, PlanSuite } from './match/plan.js';
export { folderStatus, mergeFolder, suiteFolders } from './match/status.js';
export type { FolderStatus, PairStatus } from './match/status.js';
