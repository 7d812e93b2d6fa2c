// Which accelerators this process may use, asked through tensor/ so that apps and tools need not
// include cuda/: the CUDA backend answers when the build has it, and a CPU-only build answers "none".
// Leaves out: device properties beyond the name (memory, compute capability) and other accelerators.
#pragma once

#include <string>

namespace iris {

bool cuda_built();             // this build has the CUDA backend (make CUDA=1)
int cuda_device_count();       // usable CUDA devices; 0 without the backend, a driver or a device; never throws
std::string cuda_device_name(int index);  // e.g. "NVIDIA H100 80GB HBM3"; throws naming the index and the count
// Selects cuda:index for the calling thread; throws iris::Error naming the index and the count (or
// saying the build has no CUDA backend).
void set_cuda_device(int index);

}  // namespace iris
