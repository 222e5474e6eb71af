// Engine options (src/solve/engine.ts): the old environment variables keep their exact meaning through
// engineFromEnv, the --engine text parses into the same typed options, explicit options win over the
// environment, and anything else is a SaeMatchInputError. The oracle for the environment is the rule
// each variable had where it used to be read (native getenv and atoi, or the TypeScript test).
import { describe, expect, test } from 'vitest';
import { SaeMatchInputError } from '../src/errors.js';
import { ENGINE_DEFAULTS, engineFromEnv, parseEngineOptions, resolveEngine, validateEngineOptions } from '../src/solve/engine.js';

describe('engineFromEnv: the old variables, read as the old code read them', () => {
  test('nothing set: no options (the defaults stay)', () => {
    expect(engineFromEnv({})).toEqual({});
  });

  test('SAE_MATCH_LAP_THREADS: only atoi(value) = 1 asks for one thread', () => {
    for (const v of ['1', ' 1', '+1', '1abc', '01']) expect(engineFromEnv({ SAE_MATCH_LAP_THREADS: v })).toEqual({ lapThreads: 1 });
    for (const v of ['', '0', '2', '8', 'abc', '-1']) expect(engineFromEnv({ SAE_MATCH_LAP_THREADS: v })).toEqual({});
    // (int) strtol wraps: 2^32 + 1 reads as 1.
    expect(engineFromEnv({ SAE_MATCH_LAP_THREADS: '4294967297' })).toEqual({ lapThreads: 1 });
  });

  test('SAE_MATCH_COST_PANEL: set at all means max(16, atoi(value)) rows', () => {
    expect(engineFromEnv({ SAE_MATCH_COST_PANEL: '512' })).toEqual({ costPanelRows: 512 });
    expect(engineFromEnv({ SAE_MATCH_COST_PANEL: '4' })).toEqual({ costPanelRows: 16 });
    expect(engineFromEnv({ SAE_MATCH_COST_PANEL: '' })).toEqual({ costPanelRows: 16 });
    expect(engineFromEnv({ SAE_MATCH_COST_PANEL: 'tall' })).toEqual({ costPanelRows: 16 });
    expect(engineFromEnv({ SAE_MATCH_COST_PANEL: '1024rows' })).toEqual({ costPanelRows: 1024 });
    expect(engineFromEnv({ SAE_MATCH_COST_PANEL: '99999999999999999999' })).toEqual({ costPanelRows: 16 }); // LONG_MAX -> (int) -1
  });

  test('SAE_MATCH_EVAL_GENERIC: any value but empty or "0" selects the generic kernels', () => {
    for (const v of ['1', 'yes', '00', 'false']) expect(engineFromEnv({ SAE_MATCH_EVAL_GENERIC: v })).toEqual({ evalKernel: 'generic' });
    for (const v of ['', '0']) expect(engineFromEnv({ SAE_MATCH_EVAL_GENERIC: v })).toEqual({});
  });

  test('SAE_MATCH_CPU_INIT: exactly "jv"', () => {
    expect(engineFromEnv({ SAE_MATCH_CPU_INIT: 'jv' })).toEqual({ cpuInit: 'jv' });
    for (const v of ['', 'JV', 'parallel', 'jv ']) expect(engineFromEnv({ SAE_MATCH_CPU_INIT: v })).toEqual({});
  });

  test('SAE_MATCH_CUDA_ROUNDS: Number(value) when it is an integer >= 0', () => {
    expect(engineFromEnv({ SAE_MATCH_CUDA_ROUNDS: '512' })).toEqual({ cudaRounds: 512 });
    expect(engineFromEnv({ SAE_MATCH_CUDA_ROUNDS: ' 64 ' })).toEqual({ cudaRounds: 64 });
    expect(engineFromEnv({ SAE_MATCH_CUDA_ROUNDS: '' })).toEqual({ cudaRounds: 0 }); // Number('') is 0
    expect(engineFromEnv({ SAE_MATCH_CUDA_ROUNDS: '0x10' })).toEqual({ cudaRounds: 16 });
    for (const v of ['-1', '1.5', 'many', 'NaN']) expect(engineFromEnv({ SAE_MATCH_CUDA_ROUNDS: v })).toEqual({});
  });

  test('SAE_MATCH_CUDA_PHASE4: exactly "0" leaves phase 4 to the host', () => {
    expect(engineFromEnv({ SAE_MATCH_CUDA_PHASE4: '0' })).toEqual({ cudaPhase4: false });
    for (const v of ['', '1', 'false', 'no']) expect(engineFromEnv({ SAE_MATCH_CUDA_PHASE4: v })).toEqual({});
  });

  test('SAE_MATCH_CUDA_KERNEL: exactly "simple"', () => {
    expect(engineFromEnv({ SAE_MATCH_CUDA_KERNEL: 'simple' })).toEqual({ cudaKernel: 'simple' });
    for (const v of ['', 'pipelined', 'SIMPLE']) expect(engineFromEnv({ SAE_MATCH_CUDA_KERNEL: v })).toEqual({});
  });

  test('other variables are not engine options', () => {
    expect(engineFromEnv({ SAE_MATCH_ADDON: '/x.node', SAE_MATCH_BLAS: '0', SAE_MATCH_LAP: '1' })).toEqual({});
  });
});

describe('resolveEngine: explicit options over the environment over the defaults', () => {
  test('the defaults are the old behaviour without any variable set', () => {
    expect(ENGINE_DEFAULTS).toEqual({
      lapThreads: 2, costPanelRows: 2048, evalKernel: 'auto', cpuInit: 'parallel', cudaRounds: 2048, cudaPhase4: true, cudaKernel: 'pipelined',
    });
  });

  test('precedence, and undefined fields fall through', () => {
    const saved = process.env.SAE_MATCH_COST_PANEL;
    process.env.SAE_MATCH_COST_PANEL = '256';
    try {
      expect(resolveEngine().costPanelRows).toBe(256);
      expect(resolveEngine({ costPanelRows: 4096 }).costPanelRows).toBe(4096);
      expect(resolveEngine({ costPanelRows: undefined }).costPanelRows).toBe(256);
    } finally {
      if (saved === undefined) delete process.env.SAE_MATCH_COST_PANEL;
      else process.env.SAE_MATCH_COST_PANEL = saved;
    }
    expect(resolveEngine({ lapThreads: 1, cudaPhase4: false })).toMatchObject({ lapThreads: 1, cudaPhase4: false, cudaKernel: 'pipelined' });
  });

  test('unknown keys and out-of-range values are SaeMatchInputError, naming the option', () => {
    const bad: unknown[] = [
      { lapThreads: 3 }, { lapThreads: 0 }, { lapThreads: '1' }, { costPanelRows: 15 }, { costPanelRows: 100.5 },
      { evalKernel: 'avx2' }, { cpuInit: 'auction' }, { cudaRounds: -1 }, { cudaRounds: 2 ** 31 }, { cudaPhase4: 'false' },
      { cudaKernel: 'tensor' }, { lapthreads: 1 }, 'lapThreads=1', [1],
    ];
    for (const b of bad) expect(() => validateEngineOptions(b), JSON.stringify(b)).toThrow(SaeMatchInputError);
    expect(() => resolveEngine({ lapThreads: 3 } as never)).toThrow(/lapThreads/);
    expect(() => resolveEngine({ lapthreads: 1 } as never)).toThrow(/unknown engine option 'lapthreads'/);
  });
});

describe('parseEngineOptions: the --engine key=value,... text', () => {
  test('every option, typed', () => {
    expect(parseEngineOptions('lapThreads=1, costPanelRows=512,evalKernel=generic,cpuInit=jv,cudaRounds=0,cudaPhase4=false,cudaKernel=simple')).toEqual({
      lapThreads: 1, costPanelRows: 512, evalKernel: 'generic', cpuInit: 'jv', cudaRounds: 0, cudaPhase4: false, cudaKernel: 'simple',
    });
    expect(parseEngineOptions('')).toEqual({});
    expect(parseEngineOptions('cudaPhase4=true,')).toEqual({ cudaPhase4: true });
  });

  test('malformed text is SaeMatchInputError', () => {
    for (const t of ['lapThreads', '=1', 'lapThreads=one', 'lapThreads=1,lapThreads=2', 'threads=2', 'cudaPhase4=0', 'costPanelRows=2e3'])
      expect(() => parseEngineOptions(t), t).toThrow(SaeMatchInputError);
  });
});
