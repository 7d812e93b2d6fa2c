// IRIS_HOST_DEVICE: marks an inline function that both the CPU code and CUDA kernels call (one copy
// of a formula for both devices). Under nvcc it means __host__ __device__; elsewhere nothing.
// Leaves out anything device-only: kernels and device intrinsics stay in cuda/.
#pragma once

#if defined(__CUDACC__)
#define IRIS_HOST_DEVICE __host__ __device__
#else
#define IRIS_HOST_DEVICE
#endif
