// IRIS_HOST_DEVICE: marks an inline function that both the CPU code and CUDA kernels call (one copy
// of a formula for both devices). Under nvcc it means __host__ __device__; elsewhere nothing.
// IRIS_FORCE_INLINE: always inlined on both devices, for formulas called inside vectorised CPU loops
// (an outlined call stops GCC's vectoriser) and per-element in kernels.
// Leaves out anything device-only: kernels and device intrinsics stay in cuda/.
#pragma once

#if defined(__CUDACC__)
#define IRIS_HOST_DEVICE __host__ __device__
#define IRIS_FORCE_INLINE __forceinline__
#else
#define IRIS_HOST_DEVICE
#define IRIS_FORCE_INLINE __attribute__((always_inline)) inline
#endif
