#pragma once
// Counts heap allocations made through operator new, per thread, so a test can prove that a
// streaming path allocates nothing. Linked into every test binary (it replaces the global
// operator new/delete, forwarding to malloc/free).
//
//   {
//     AllocationGuard guard;           // fails the test if anything below allocates
//     installer.Write(chunk);
//   }

#include <cstddef>
#include <cstdint>

namespace aloft::testing {

// Allocations (operator new calls) made by the calling thread since it started.
uint64_t ThreadAllocationCount();
// Bytes requested by those allocations.
uint64_t ThreadAllocatedBytes();

// Records the count at construction; on destruction adds a gtest failure naming the number of
// allocations made in between.
class AllocationGuard {
 public:
  AllocationGuard();
  AllocationGuard(const AllocationGuard&) = delete;
  AllocationGuard& operator=(const AllocationGuard&) = delete;
  ~AllocationGuard();

  uint64_t allocations_so_far() const;

 private:
  uint64_t start_;
};

}  // namespace aloft::testing
