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

  it('the types compile in a consumer with no settings of its own, under TypeScript 5 and 7', () => {
    // strict, nodenext, and no @types of the consumer's own (types: []): what a fresh project has.
    const dir = mkdtempSync(join(tmpdir(), 'sae-match-types-'));
    try {
      mkdirSync(join(dir, 'node_modules'));
      symlinkSync(root, join(dir, 'node_modules', 'sae-match'));
      writeFileSync(join(dir, 'package.json'), '{"name": "consumer", "type": "module", "private": true}');
      writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', noEmit: true, types: [] }, files: ['index.ts'] }));
      const good = "import { matchSuite, loadSae, discoverSuite, parseShard, type Sae } from 'sae-match';\n" +
        "import { writeSynthSuite } from 'sae-match/tools';\n" +
        "export const total = async (root: string): Promise<number> => (await matchSuite(root, { out: 'o', shard: parseShard('0/2') })).computed;\n" +
        "export type S = Sae; void loadSae; void discoverSuite; void writeSynthSuite;\n";
      for (const tsc of ['typescript', 'typescript-7']) {
        const bin = join(root, 'node_modules', tsc, 'bin', 'tsc');
        writeFileSync(join(dir, 'index.ts'), good);
        const ok = spawnSync(process.execPath, [bin, '-p', dir], { encoding: 'utf8' });
        expect(ok.status, `${tsc}: ${ok.stdout}${ok.stderr}`).toBe(0);
        // ... and a wrong use is caught: the check is real.
        writeFileSync(join(dir, 'index.ts'), good + "export const wrong: number = matchSuite;\n");
        const bad = spawnSync(process.execPath, [bin, '-p', dir], { encoding: 'utf8' });
        expect(bad.status, tsc).not.toBe(0);
        expect(bad.stdout).toMatch(/index.ts\(5,14\): error TS2322/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
