// Node-API bindings for evaluation with activations (encode, permute, decode, explained variance).
#include "worker.hpp"

namespace saematch::binding {

void initEval(Napi::Env env, Napi::Object exports) {
  (void)env;
  (void)exports;
}

}  // namespace saematch::binding
