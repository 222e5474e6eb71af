// Loading the addon: a missing binary must say what was tried and how to build it.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');

describe('addon loader', () => {
  it('names the missing file and the build command when SAE_MATCH_ADDON points nowhere', () => {
    const r = spawnSync(process.execPath, [resolve(root, 'dist', 'cli', 'main.js'), 'info'], {
      encoding: 'utf8', env: { ...process.env, SAE_MATCH_ADDON: '/nonexistent/sae_match.node' },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('/nonexistent/sae_match.node');
    expect(r.stderr).toContain('npm run build:native');
  });
});
