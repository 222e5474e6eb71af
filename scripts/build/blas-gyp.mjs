// Tells binding.gyp how to use a system OpenBLAS, or prints nothing when there is none.
// SAE_MATCH_BLAS=0 forces a BLAS-free build (the portable prebuild uses it).
import { existsSync } from 'node:fs';

const what = process.argv[2];
const dirs = ['/usr/include/x86_64-linux-gnu/openblas-pthread', '/usr/include/aarch64-linux-gnu/openblas-pthread', '/usr/include/openblas', '/usr/local/include'];
const libs = ['/usr/lib/x86_64-linux-gnu/libopenblas.so', '/usr/lib/aarch64-linux-gnu/libopenblas.so', '/usr/lib/libopenblas.so', '/usr/local/lib/libopenblas.so'];
const dir = dirs.find((d) => existsSync(`${d}/cblas.h`));
const lib = libs.find((l) => existsSync(l));
const enabled = process.env.SAE_MATCH_BLAS !== '0' && dir !== undefined && lib !== undefined;
const out = !enabled ? [] : what === 'include' ? [dir] : what === 'libraries' ? [lib]
  : ['SAE_MATCH_HAVE_CBLAS=1', ...(existsSync(`${dir}/openblas_config.h`) ? ['SAE_MATCH_OPENBLAS=1'] : [])];
process.stdout.write(out.join(' '));
