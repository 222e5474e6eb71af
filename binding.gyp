{
  "targets": [
    {
      "target_name": "sae_match",
      "sources": [
        "native/binding/addon.cpp",
        "native/binding/io.cpp",
        "native/binding/sae.cpp",
        "native/binding/cost.cpp",
        "native/binding/lap.cpp",
        "native/binding/cuda.cpp",
        "native/binding/eval.cpp",
        "native/binding/sparse.cpp",
        "native/binding/info.cpp",
        "native/core/threads.cpp",
        "native/core/io/fileio.cpp",
        "native/core/sae/fold.cpp",
        "native/core/cost/blas_rules.cpp",
        "native/core/cost/cost.cpp",
        "native/core/cost/gemm_builtin.cpp",
        "native/core/cost/topk.cpp",
        "native/core/lap/jv.cpp",
        "native/core/lap/parallel_init.cpp",
        "native/core/lap/warm_start.cpp",
        "native/core/lap/augment.cpp",
        "native/core/lap/certificate.cpp",
        "native/core/sparse/candidates.cpp",
        "native/core/sparse/solver.cpp",
        "native/core/sparse/pricing.cpp",
        "native/core/eval/eval.cpp",
        "native/cuda/device_none.cpp"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/build/blas-gyp.mjs include)"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_CPP_EXCEPTIONS",
        "SAE_MATCH_BUILD_SYSTEM=\"node-gyp\"",
        "<!@(node scripts/build/blas-gyp.mjs defines)"
      ],
      "libraries": ["<!@(node scripts/build/blas-gyp.mjs libraries)"],
      "cflags!": ["-fno-exceptions", "-O2"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-O2"],
      "cflags_cc": ["-std=c++17", "-O3", "-fexceptions"],
      "cflags": ["-O3"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "MACOSX_DEPLOYMENT_TARGET": "11.0"
      },
      "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1 } }
    }
  ]
}
