// Used by builds without nvcc (binding.gyp, prebuilds, machines without the CUDA toolkit).
#include "device.hpp"

namespace saematch::cuda {

DeviceReport probeDevices() {
  DeviceReport r;
  r.error = "this addon was built without CUDA (nvcc was not found at build time)";
  return r;
}

}  // namespace saematch::cuda
