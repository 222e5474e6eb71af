// Whether `npm install` uses the shipped prebuild or builds here (scripts/build/install.mjs): the
// prebuild is CPU-only with the built-in GEMM, so a build is worth its minute only where it gains
// something: CUDA (nvcc found) or OpenBLAS. Pure, so it is tested table-driven (test/prebuild.test.ts).
export function planInstall({ prebuilt, prebuildDir, nvccDir, openblas, env }) {
  const gains = [nvccDir && `CUDA (nvcc in ${nvccDir})`, openblas && `OpenBLAS GEMM (${openblas})`].filter(Boolean);
  if (prebuilt && gains.length === 0 && env.SAE_MATCH_BUILD !== '1')
    return {
      action: 'prebuild', gains,
      message: `sae-match: using the prebuilt addon (${prebuildDir}): this machine has no CUDA toolkit and no OpenBLAS, ` +
        'so a local build would add nothing. Install either and run `npm rebuild sae-match` to build one that uses it (SAE_MATCH_BUILD=1 builds regardless).',
    };
  const why = gains.length ? `: it adds ${gains.join(' and ')} to what the prebuild has` : prebuilt ? ' (SAE_MATCH_BUILD=1)' : ' (no prebuild for this platform)';
  return { action: 'build', gains, message: `sae-match: building the native addon here${why}` };
}
