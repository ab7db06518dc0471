#!/usr/bin/env bash
# Configures and builds one flavour of hx into build/<flavour>.
#   scripts/build.sh release|gcc|asan|tsan|fuzz|clang [ninja targets...]
# release: g++ Release (the hx you run); gcc: g++ RelWithDebInfo -Werror (tests);
# clang: clang -Werror; asan: clang ASan+UBSan; tsan: clang TSan; fuzz: clang libFuzzer targets.
set -euo pipefail
cd "$(dirname "$0")/.."
flavour="${1:?usage: scripts/build.sh release|gcc|clang|asan|tsan|fuzz [targets...]}"
shift
args=(-G Ninja -DHX_SHARED_DIR="$(cd .. && pwd)/shared")
case "$flavour" in
  release) args+=(-DCMAKE_BUILD_TYPE=Release -DHX_BUILD_TESTS=OFF -DCMAKE_CXX_COMPILER=g++ -DCMAKE_C_COMPILER=gcc) ;;
  bench)   args+=(-DCMAKE_BUILD_TYPE=Release -DHX_BUILD_TESTS=OFF -DHX_BUILD_BENCH=ON -DCMAKE_CXX_COMPILER=g++ -DCMAKE_C_COMPILER=gcc) ;;
  gcc)     args+=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DHX_WERROR=ON -DCMAKE_CXX_COMPILER=g++ -DCMAKE_C_COMPILER=gcc) ;;
  clang)   args+=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DHX_WERROR=ON -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang) ;;
  asan)    args+=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DHX_WERROR=ON -DHX_BUILD_BENCH=OFF -DHX_SANITIZE=address,undefined
                  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang) ;;
  tsan)    args+=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DHX_WERROR=ON -DHX_BUILD_BENCH=OFF -DHX_SANITIZE=thread
                  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang) ;;
  fuzz)    args+=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DHX_WERROR=ON -DHX_FUZZ=ON -DHX_BUILD_TESTS=OFF -DHX_BUILD_BENCH=OFF
                  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang) ;;
  *) echo "unknown flavour: $flavour" >&2; exit 2 ;;
esac
cmake -S . -B "build/$flavour" "${args[@]}" >/dev/null
ninja -C "build/$flavour" "$@"
