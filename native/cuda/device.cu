// Compiled only when nvcc is found. The runtime is linked statically, so the addon loads on machines
// without a driver; there cudaGetDeviceCount fails (cudaErrorInsufficientDriver = 35 or
// cudaErrorNoDevice = 100) and the error is reported instead of a device.
#include <cuda_runtime.h>

#include "device.hpp"

namespace saematch::cuda {

namespace {
std::string describe(cudaError_t e) {
  return std::string(cudaGetErrorName(e)) + " (" + std::to_string(static_cast<int>(e)) + "): " +
         cudaGetErrorString(e);
}
}  // namespace

DeviceReport probeDevices() {
  DeviceReport r;
  r.compiled = true;
  cudaRuntimeGetVersion(&r.runtime_version);
  if (cudaDriverGetVersion(&r.driver_version) != cudaSuccess) r.driver_version = 0;
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) {
    r.error = describe(e);
    cudaGetLastError();  // clear the sticky error so later probes start clean
    return r;
  }
  r.device_count = count;
  for (int d = 0; d < count; ++d) {
    cudaDeviceProp p{};
    cudaError_t pe = cudaGetDeviceProperties(&p, d);
    if (pe != cudaSuccess) {
      r.error = "device " + std::to_string(d) + ": " + describe(pe);
      continue;
    }
    DeviceInfo info;
    info.index = d;
    info.name = p.name;
    info.major = p.major;
    info.minor = p.minor;
    info.total_memory = p.totalGlobalMem;
    info.multiprocessors = p.multiProcessorCount;
    r.devices.push_back(info);
  }
  return r;
}

}  // namespace saematch::cuda
