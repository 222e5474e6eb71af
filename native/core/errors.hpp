// The exceptions the native library throws on purpose. The binding (native/binding/worker.hpp) maps
// each onto a stable JS error code; any other exception is an internal failure.
#pragma once

#include <stdexcept>

namespace saematch {

// Raised for inputs the solver cannot accept (NaN, -inf when minimising, ...). The binding turns it
// into a JS error with code ERR_SAE_MATCH_INPUT.
struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
// A device (CUDA) failure: out of memory, a launch error, no usable device. The binding gives it the
// code ERR_SAE_MATCH_DEVICE, so `--device auto` can fall back to the CPU and say why.
struct DeviceError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
struct Cancelled : std::runtime_error {
  Cancelled() : std::runtime_error("operation was aborted") {}
};

}  // namespace saematch
