// Used by builds without nvcc (binding.gyp, prebuilds, machines without the CUDA toolkit).
#include "device.hpp"
#include "gpu.hpp"

namespace saematch::cuda {

DeviceReport probeDevices() {
  DeviceReport r;
  r.error = "this addon was built without CUDA (nvcc was not found at build time)";
  return r;
}

GpuPairResult matchPairDevice(const float*, int64_t, const float*, int64_t, int64_t, int, int, int,
                              const DeviceOptions&, float*, const std::atomic<bool>*) {
  throw CudaError("this addon was built without CUDA (nvcc was not found at build time)");
}

GpuPairResult initMatrixDevice(const float*, int64_t, int, int, const DeviceOptions&, const std::atomic<bool>*) {
  throw CudaError("this addon was built without CUDA (nvcc was not found at build time)");
}

}  // namespace saematch::cuda
