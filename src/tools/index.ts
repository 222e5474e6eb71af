// The 'sae-match/tools' subpath: what the CLI's tooling commands are made of, for scripts and other
// front-ends — synthetic suites with planted matches, the demo, the benchmark, LAP instance families.
export { writeSynthSuite, readSynthTruth, widthLabelOf, KIND } from './synth.js';
export type { SynthOptions, SynthSummary } from './synth.js';
export { runDemo, scoreAgainstTruth, DEMO_DEFAULTS } from './demo.js';
export { runBench } from './bench.js';
export { makeInstance, saeFeatures, Rng, FAMILIES } from './instances.js';
export type { Family, Instance } from './instances.js';
