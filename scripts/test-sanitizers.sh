#!/usr/bin/env bash
# Builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer (gcc) into build-asan/ and runs the
# native-facing tests against it: any heap overflow, use-after-free or undefined behaviour in octet's own
# code aborts the test process. Node itself is not instrumented, so the sanitizer runtimes are preloaded;
# leak checking is off because Node does not free everything at exit.
# Usage: scripts/test-sanitizers.sh [vitest filters...]   (default: test/unit)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
npx cmake-js compile --out build-asan --CDOCTET_SANITIZE=ON --CDCMAKE_BUILD_TYPE=RelWithDebInfo
export OCTET_NATIVE_ADDON="$root/build-asan/Release/octet.node"
[ -f "$OCTET_NATIVE_ADDON" ] || OCTET_NATIVE_ADDON="$root/build-asan/RelWithDebInfo/octet.node"
export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
filters=("$@")
[ ${#filters[@]} -gt 0 ] || filters=(test/unit)
npx vitest run --reporter=default "${filters[@]}"
