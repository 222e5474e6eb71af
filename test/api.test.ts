// The public API is the pipeline: the root export has every stage's entry point and no tooling;
// tooling is the 'sae-match/tools' subpath, resolved through package.json's exports as a consumer would.
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as api from '../src/index.js';

const root = resolve(import.meta.dirname, '..');

describe('public API', () => {
  it('the root export covers read → fold → cost → assign → match → analyse → report', () => {
    const stages = [
      'readNpy', 'readNpz', 'readSafetensors', 'loadSae', 'discoverSuite', 'foldThreshold', 'layerFeatures',
      'costMatrix', 'solveAssignment', 'checkCertificate', 'matchPair', 'matchPairToFolder', 'matchSuite',
      'readSuiteOutput', 'pairIsDone', 'composeMatches', 'lifetimes', 'evaluateSuite', 'writeReport', 'selectBackend', 'nativeInfo',
      'sparseAssignment', 'decideMethod', 'setThreads', 'parallelCounters',
    ];
    for (const name of stages) expect(typeof (api as Record<string, unknown>)[name], name).toBe('function');
  });

  it('tooling and dead exports are not in the root export', () => {
    for (const name of ['writeSynthSuite', 'runDemo', 'runBench', 'makeInstance', 'FAMILIES', 'registerCudaBackend'])
      expect((api as Record<string, unknown>)[name], name).toBeUndefined();
  });

  it("'sae-match/tools' resolves through package.json exports to the tooling", async () => {
    const pkg = createRequire(import.meta.url)(resolve(root, 'package.json')) as { exports: Record<string, { import: string }> };
    const tools = await import(pathToFileURL(resolve(root, pkg.exports['./tools']!.import)).href);
    for (const name of ['writeSynthSuite', 'runDemo', 'runBench', 'makeInstance', 'readSynthTruth'])
      expect(typeof tools[name], name).toBe('function');
  });
});
