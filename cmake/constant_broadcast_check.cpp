// Configure-time probe (CMakeLists.txt runs it with the build's flags): does the compiler keep the
// high zero elements of a 32- or 64-byte constant? GCC 12.2's x86 back end, with AVX-512 enabled,
// turns such a constant into a broadcast of its first element when the elements it stores
// explicitly are all equal and only zeros follow ({2, 2, 2, 0} becomes {2, 2, 2, 2}). Later GCCs
// check the constant's full width first. Exit 0: the constants survive; 1: they were miscompiled.
#include <cstdint>
#include <cstdio>
#include <vector>

template <class T>
__attribute__((noinline)) int differs(const std::vector<T>& got, std::initializer_list<int> want) {
  int i = 0, bad = 0;
  for (int w : want) bad += got[i++] != T(w);
  return bad;
}

int main() {
  int bad = 0;
  bad += differs(std::vector<int64_t>{2, 2, 2, 0}, {2, 2, 2, 0});
  bad += differs(std::vector<int64_t>{7, 7, 7, 7, 7, 7, 7, 0}, {7, 7, 7, 7, 7, 7, 7, 0});
  bad += differs(std::vector<float>{2, 2, 2, 2, 2, 2, 0, 0}, {2, 2, 2, 2, 2, 2, 0, 0});
  bad += differs(std::vector<int16_t>{3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 0},
                 {3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 0});
  if (bad) std::puts("wide constants miscompiled");  // (no backslash escapes: CMake reads this file)
  return bad ? 1 : 0;
}
