// Table lookup over bytes: out[i] = table[in[i]], the kernel of every int8 activation (any unary function of
// an 8-bit value is exactly a 256-entry table). On x86 with AVX-512 VBMI, 64 bytes per step with vpermi2b; a
// scalar loop elsewhere (and as the test oracle).
#pragma once

#include <cstddef>
#include <cstdint>

namespace octet {
namespace kernels {

// [sync] No allocation, never throws. `in` and `out` may be the same buffer.
void Lut8(const uint8_t* table, const uint8_t* in, uint8_t* out, size_t n);

void Lut8Scalar(const uint8_t* table, const uint8_t* in, uint8_t* out, size_t n);

}  // namespace kernels
}  // namespace octet
