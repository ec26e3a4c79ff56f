# Toolchain for the 32-bit bare-metal compile check of src/core: Cortex-M4, picolibc,
# no exceptions, no RTTI, optimised for size (Debian: gcc-arm-none-eabi,
# libstdc++-arm-none-eabi-picolibc).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_CXX_COMPILER arm-none-eabi-g++)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(CMAKE_C_FLAGS_INIT "--specs=picolibc.specs -mcpu=cortex-m4 -mthumb")
set(CMAKE_CXX_FLAGS_INIT "--specs=picolibc.specs -mcpu=cortex-m4 -mthumb -fno-exceptions -fno-rtti")
set(CMAKE_CXX_FLAGS_MINSIZEREL_INIT "-Os -DNDEBUG")
