#pragma once
// Check backend for the bare-metal compile check of src/core (no OS): a failed check traps.

[[noreturn]] inline void aloft_backend_check_failed(const char*, const char*, int) {
  __builtin_trap();
}
