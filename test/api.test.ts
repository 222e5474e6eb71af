// The public API is the pipeline: the root export has every stage's entry point and no tooling;
// tooling is the 'sae-match/tools' subpath, resolved through package.json's exports as a consumer would.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
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

  it('a consumer project can import() and require() the package by name (Node >= 20.19 loads ESM through require)', () => {
    // A scratch consumer with the package under node_modules: bare specifiers go through package.json's exports.
    const dir = mkdtempSync(join(tmpdir(), 'sae-match-consumer-'));
    try {
      mkdirSync(join(dir, 'node_modules'));
      symlinkSync(root, join(dir, 'node_modules', 'sae-match'));
      writeFileSync(join(dir, 'package.json'), '{"name": "consumer", "private": true}');
      const cjs = spawnSync(process.execPath, ['-e', "const m = require('sae-match'), t = require('sae-match/tools'); console.log(JSON.stringify([typeof m.matchSuite, typeof t.writeSynthSuite, Object.keys(m).length]))"], { cwd: dir, encoding: 'utf8' });
      const esm = spawnSync(process.execPath, ['--input-type=module', '-e', "const m = await import('sae-match'); console.log(JSON.stringify([typeof m.matchSuite, Object.keys(m).length]))"], { cwd: dir, encoding: 'utf8' });
      expect(cjs.status, cjs.stderr).toBe(0);
      expect(esm.status, esm.stderr).toBe(0);
      const [c, e] = [JSON.parse(cjs.stdout), JSON.parse(esm.stdout)];
      expect(c.slice(0, 2)).toEqual(['function', 'function']);
      expect(c[2]).toBe(e[1]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
