# CMake toolchain for cross-compiling the addon to linux-arm64 with Debian's g++-aarch64-linux-gnu.
# OCTET_ARM64_SYSROOT (environment) points at the tree made by scripts/sysroot-arm64.sh.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

if(NOT DEFINED ENV{OCTET_ARM64_SYSROOT})
  message(FATAL_ERROR "set OCTET_ARM64_SYSROOT (run scripts/sysroot-arm64.sh)")
endif()
set(OCTET_ARM64_SYSROOT $ENV{OCTET_ARM64_SYSROOT})
set(CMAKE_FIND_ROOT_PATH ${OCTET_ARM64_SYSROOT} /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-Wl,-rpath-link,${OCTET_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu")
