#include "support/allocation_counter.h"

#include <cstdlib>
#include <new>

#include <gtest/gtest.h>

namespace {
thread_local uint64_t t_allocations = 0;
thread_local uint64_t t_allocated_bytes = 0;

void* CountedAllocate(std::size_t size) {
  ++t_allocations;
  t_allocated_bytes += size;
  if (void* p = std::malloc(size == 0 ? 1 : size)) {
    return p;
  }
  throw std::bad_alloc();
}
}  // namespace

void* operator new(std::size_t size) { return CountedAllocate(size); }
void* operator new[](std::size_t size) { return CountedAllocate(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace aloft::testing {

uint64_t ThreadAllocationCount() { return t_allocations; }
uint64_t ThreadAllocatedBytes() { return t_allocated_bytes; }

AllocationGuard::AllocationGuard() : start_(t_allocations) {}

uint64_t AllocationGuard::allocations_so_far() const { return t_allocations - start_; }

AllocationGuard::~AllocationGuard() {
  EXPECT_EQ(allocations_so_far(), 0u) << "heap allocations inside an AllocationGuard scope";
}

}  // namespace aloft::testing
