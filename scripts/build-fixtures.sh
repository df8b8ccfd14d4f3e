#!/usr/bin/env bash
# Rebuilds every committed WebAssembly program from its C source:
#   tests/fixtures/c/X.c -> tests/fixtures/wasm/X.wasm
#   bench/kernels/X.c    -> bench/kernels/X.wasm
#   examples/X.c         -> examples/X.wasm
#
# Usage:
#   scripts/build-fixtures.sh               build in place
#   scripts/build-fixtures.sh --check       build into a temp dir, compare byte-for-byte with the
#                                           committed .wasm files, list any that differ, exit 1 if so
#   scripts/build-fixtures.sh --native DIR  also build native (gcc -O2) bench kernels into DIR
#   scripts/build-fixtures.sh --native-only DIR
#                                           only the native bench kernels (needs gcc, not clang)
#
# Needs Debian's clang 14 + wasi-libc: apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

CLANG="${CLANG:-clang}"
CC_NATIVE="${CC_NATIVE:-gcc}"
WASM_FLAGS=(--target=wasm32-wasi -O2 -Wall -Wextra -Wno-unused-parameter -Wl,--strip-debug)
PKGS="clang lld wasi-libc libclang-rt-14-dev-wasm32"

MODE=build
NATIVE_DIR=""
while [ $# -gt 0 ]; do
  case "$1" in
    --check) MODE=check ;;
    --native | --native-only)
      [ $# -ge 2 ] || { echo "build-fixtures: $1 needs a directory" >&2; exit 2; }
      [ "$1" = --native-only ] && MODE=native-only
      NATIVE_DIR="$2"
      shift
      ;;
    -h | --help)
      sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) echo "build-fixtures: unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

build_native() {
  command -v "$CC_NATIVE" >/dev/null 2>&1 || { echo "build-fixtures: $CC_NATIVE not found (needed for native kernels); install the Debian package gcc" >&2; exit 1; }
  mkdir -p "$NATIVE_DIR"
  local n=0 src
  for src in bench/kernels/*.c; do
    "$CC_NATIVE" -O2 -Wall "$src" -o "$NATIVE_DIR/$(basename "${src%.c}")" -lm
    n=$((n + 1))
  done
  echo "build-fixtures: built $n native kernels into $NATIVE_DIR"
}

if [ "$MODE" = native-only ]; then
  build_native
  exit 0
fi

# ---- toolchain check: one clear line if something is missing ----
if ! command -v "$CLANG" >/dev/null 2>&1; then
  echo "build-fixtures: clang not found; install the Debian packages: $PKGS" >&2
  exit 1
fi
probe_dir="$(mktemp -d)"
trap 'rm -rf "$probe_dir"' EXIT
printf '#include <stdio.h>\nint main(void){puts("x");return 0;}\n' >"$probe_dir/probe.c"
if ! "$CLANG" "${WASM_FLAGS[@]}" "$probe_dir/probe.c" -o "$probe_dir/probe.wasm" >"$probe_dir/log" 2>&1; then
  echo "build-fixtures: $CLANG cannot build for wasm32-wasi (missing wasm32-wasi sysroot, wasm-ld or compiler-rt: $(grep -m1 -i 'error' "$probe_dir/log" || true)); install the Debian packages: $PKGS" >&2
  exit 1
fi

# ---- what to build: "source output" pairs ----
targets=()
for src in tests/fixtures/c/*.c; do
  targets+=("$src tests/fixtures/wasm/$(basename "${src%.c}").wasm")
done
for src in bench/kernels/*.c; do
  targets+=("$src bench/kernels/$(basename "${src%.c}").wasm")
done
for src in examples/*.c; do targets+=("$src examples/$(basename "${src%.c}").wasm"); done

if [ "$MODE" = check ]; then
  OUT="$probe_dir/out"
else
  OUT="$ROOT"
fi

build_one() { # src out
  local src="$1" out="$2"
  mkdir -p "$(dirname "$out")"
  "$CLANG" "${WASM_FLAGS[@]}" -I tests/fixtures/c "$src" -o "$out.tmp"
  mv "$out.tmp" "$out"
}

for t in "${targets[@]}"; do
  set -- $t
  build_one "$1" "$OUT/$2"
done

if [ "$MODE" = check ]; then
  status=0
  for t in "${targets[@]}"; do
    set -- $t
    if [ ! -f "$2" ]; then
      echo "missing: $2"
      status=1
    elif ! cmp -s "$OUT/$2" "$2"; then
      echo "differs: $2"
      status=1
    fi
  done
  # committed .wasm files without a source
  for w in tests/fixtures/wasm/*.wasm bench/kernels/*.wasm; do
    [ -e "$w" ] || continue
    base="$(basename "${w%.wasm}")"
    dir="$(dirname "$w")"
    src="$dir/$base.c"
    [ "$dir" = tests/fixtures/wasm ] && src="tests/fixtures/c/$base.c"
    [ -f "$src" ] || { echo "stale (no source): $w"; status=1; }
  done
  if [ $status -eq 0 ]; then
    echo "build-fixtures: all ${#targets[@]} .wasm files match their sources"
  else
    echo "build-fixtures: committed .wasm files are out of date; run scripts/build-fixtures.sh" >&2
  fi
  exit $status
fi

echo "build-fixtures: built ${#targets[@]} .wasm files"

[ -z "$NATIVE_DIR" ] || build_native
