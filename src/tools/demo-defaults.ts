// The demo's defaults, on their own so that the CLI can show them in --help without loading the demo.

/** The embedded default: 8 layers of 8192 features at d_model 512 (about 0.5 GB on disk). */
export const DEMO_DEFAULTS = { layers: 8, width: 8192, dModel: 512, seed: 2025 } as const;
