#pragma once
// Log backend for the bare-metal compile check of src/core: logging compiles away.

inline void aloft_backend_log(int, const char*, const char*, ...) {}
