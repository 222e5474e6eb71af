// File reading for large tensors: positioned reads on several threads straight into memory that asks
// the kernel for transparent huge pages (a 300 MB tensor then costs ~150 page faults, not ~75k), with
// the ZIP CRC-32 computed on each chunk while it is still in cache and combined at the end.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

namespace saematch {

// Anonymous, zero-filled, 64-byte aligned memory advised for huge pages. Never returns null (throws).
void* allocLarge(size_t bytes);
void freeLarge(void* p, size_t bytes);

struct ReadResult {
  uint64_t bytes_read = 0;  // < length when the file is shorter than offset + length
  uint32_t crc32 = 0;       // CRC-32 (ZIP/zlib polynomial) of the bytes read, when requested
  double seconds = 0;
};

// Reads [offset, offset + length) of `path` into dst. I/O errors throw std::runtime_error with errno
// text; a short file is not an error here (the caller knows what it expected and says so).
ReadResult readRange(const std::string& path, uint64_t offset, uint64_t length, void* dst,
                     int threads, bool crc, const std::atomic<bool>* cancel);

// CRC-32 as in ZIP (reflected polynomial 0xEDB88320), continuing from `crc`.
uint32_t crc32Update(uint32_t crc, const uint8_t* p, size_t n);
// The portable table path (the reference the carry-less multiply path is tested against).
uint32_t crc32UpdateTable(uint32_t crc, const uint8_t* p, size_t n);
// CRC of A||B from crc(A), crc(B) and |B| (zlib's crc32_combine, GF(2) matrix powers).
uint32_t crc32Combine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b);

}  // namespace saematch
