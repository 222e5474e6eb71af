// The binding's areas, one file each beside its TypeScript callers: each adds its exports to the
// module (addon.cpp calls them all). The TypeScript face of every export is src/binding/addon.ts.
#pragma once

#include <napi.h>

namespace saematch::binding {

void registerIo(Napi::Env env, Napi::Object exports);    // io.cpp: readRange, crc32, allocLarge
void registerSae(Napi::Env env, Napi::Object exports);   // sae.cpp: scanValues, folding, half floats
void registerCost(Napi::Env env, Napi::Object exports);  // cost.cpp: costMatrix, topkRows
void registerLap(Napi::Env env, Napi::Object exports);   // lap.cpp: solver, certificate, parallel init
void registerCuda(Napi::Env env, Napi::Object exports);  // cuda.cpp: the device's pair and solver
void registerEval(Napi::Env env, Napi::Object exports);  // eval.cpp: encode and pair evaluation
void registerSparse(Napi::Env env, Napi::Object exports);  // sparse.cpp: the sparse exact method
void registerInfo(Napi::Env env, Napi::Object exports);  // info.cpp: what this build and machine have

}  // namespace saematch::binding
