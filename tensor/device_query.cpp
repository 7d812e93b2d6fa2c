// The device query (device_query.h): forwards to cuda/runtime.cu when the build has the CUDA
// backend, and answers "no devices" otherwise. Declares the few CUDA functions it calls itself, as
// storage.cpp does, so tensor/ includes nothing from cuda/.
#include "tensor/device_query.h"

#include <exception>

#include "tensor/error.h"

namespace iris {

#ifdef IRIS_WITH_CUDA
namespace cuda {
int device_count();                  // cuda/runtime.cu; never throws
std::string device_name(int index);  // cuda/runtime.cu
void set_device(int index);          // cuda/runtime.cu
}  // namespace cuda
#endif

#ifndef IRIS_WITH_CUDA
namespace {
[[noreturn]] void no_cuda_backend(int index) {
  throw Error(cat_str("cuda:", index,
                      ": this build of iris has no CUDA backend; rebuild with `make CUDA=1` on a machine with nvcc"));
}
}  // namespace
#endif

bool cuda_built() {
#ifdef IRIS_WITH_CUDA
  return true;
#else
  return false;
#endif
}

int cuda_device_count() {
#ifdef IRIS_WITH_CUDA
  try {
    return cuda::device_count();
  } catch (const std::exception&) {
    return 0;
  }
#else
  return 0;
#endif
}

std::string cuda_device_name(int index) {
#ifdef IRIS_WITH_CUDA
  return cuda::device_name(index);
#else
  no_cuda_backend(index);
#endif
}

void set_cuda_device(int index) {
#ifdef IRIS_WITH_CUDA
  cuda::set_device(index);
#else
  no_cuda_backend(index);
#endif
}

}  // namespace iris
