// std::vector for the native library's large working arrays (the sparse method's panels, candidate
// lists and graph): arrays of 2 MiB and more come from allocLarge, anonymous memory on a 2 MiB
// boundary advised for transparent huge pages, the rest from operator new. A fresh array is paid
// for at its first touch, one page fault per page: with 4 KiB pages that is 32768 faults for a
// 128 MiB panel, which on a virtual machine can cost more than the arithmetic the panel is for
// (BENCHMARKS.md, "first touch"); with huge pages it is 64.
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>
#include <vector>

#include "io/fileio.hpp"

namespace saematch {

template <typename T>
struct LargeAllocator {
  using value_type = T;
  // Arrays from this size on are mapped on their own: the same rule for allocate and deallocate,
  // which is told the size it allocated.
  static constexpr size_t kLargeBytes = size_t{2} << 20;

  LargeAllocator() noexcept = default;
  template <typename U>
  LargeAllocator(const LargeAllocator<U>&) noexcept {}

  T* allocate(size_t n) {
    if (n > static_cast<size_t>(-1) / sizeof(T)) throw std::bad_array_new_length();
    const size_t bytes = n * sizeof(T);
    if (bytes >= kLargeBytes) return static_cast<T*>(allocLarge(bytes));
    return static_cast<T*>(::operator new(bytes));
  }
  void deallocate(T* p, size_t n) noexcept {
    const size_t bytes = n * sizeof(T);
    if (bytes >= kLargeBytes) freeLarge(p, bytes);
    else ::operator delete(p);
  }
  template <typename U>
  bool operator==(const LargeAllocator<U>&) const noexcept { return true; }
  template <typename U>
  bool operator!=(const LargeAllocator<U>&) const noexcept { return false; }
};

template <typename T>
using LargeVector = std::vector<T, LargeAllocator<T>>;

// A fixed-size array of trivial T from allocLarge, its entries not initialised (fresh anonymous
// memory reads as zero, but nothing writes it first): for a buffer every entry of which is written
// before it is read, whose first touch then falls to the threads that fill it instead of a
// single-threaded zero fill in front of them.
template <typename T>
class LargeBuffer {
  static_assert(std::is_trivially_copyable_v<T> && std::is_trivially_default_constructible_v<T>, "raw memory holds trivial types only");

 public:
  explicit LargeBuffer(size_t n) : n_(n), p_(static_cast<T*>(allocLarge(n * sizeof(T)))) {}
  ~LargeBuffer() { freeLarge(p_, n_ * sizeof(T)); }
  LargeBuffer(const LargeBuffer&) = delete;
  LargeBuffer& operator=(const LargeBuffer&) = delete;
  T* data() { return p_; }
  const T* data() const { return p_; }
  size_t size() const { return n_; }

 private:
  size_t n_;
  T* p_;
};

}  // namespace saematch
