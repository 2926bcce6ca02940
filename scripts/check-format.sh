#!/usr/bin/env bash
# Checks (or with --fix, applies) clang-format on the native sources.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v clang-format >/dev/null || { echo "clang-format not found: run scripts/install-deps.sh" >&2; exit 1; }
mapfile -t files < <(git ls-files --cached --others --exclude-standard 'native/*.cc' 'native/*.h')
[ ${#files[@]} -gt 0 ] || exit 0
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
else
  clang-format --dry-run --Werror "${files[@]}"
  echo "clang-format: ${#files[@]} native files clean"
fi
