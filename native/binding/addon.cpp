// Node-API binding: the only code that knows about JavaScript (native/core and native/cuda do not).
// Inputs arrive validated by the TypeScript layer (src/binding/addon.ts declares every export and its
// options, its callers check the values); the binding reads them by name into AsyncWorkers, so no
// heavy work runs on the event loop, and turns C++ exceptions into rejected Promises with stable
// error codes (worker.hpp). This file only registers what the area files define (register.hpp).
#include <napi.h>

#include "register.hpp"
#include "worker.hpp"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  using namespace saematch::binding;
  exports.Set("CancelToken", CancelToken::Init(env));
  registerIo(env, exports);
  registerSae(env, exports);
  registerCost(env, exports);
  registerLap(env, exports);
  registerCuda(env, exports);
  registerEval(env, exports);
  registerSparse(env, exports);
  registerInfo(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(sae_match, Init)
