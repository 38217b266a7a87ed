#!/usr/bin/env bash
# Rebuilds the committed C++ exception fixtures of cli/tests/cpp_exceptions.rs: compiles
# throw_catch.cpp and uncaught.cpp to wasm32-wasi with WebAssembly exception handling, in the
# standard (exnref) encoding (X.wasm) and the legacy one (X.legacy.wasm), against an EH-enabled
# libc++abi rebuilt from the LLVM 22.1.8 sources (see BUILD.md for why Debian's is not enough).
# Needs clang-22/lld-22/llvm-22 and Debian's wasm32 libc++ 22 (installed with apt-get, as root,
# when missing) and the `ziglang==0.17.1` wheel from PyPI for the sources (downloaded with pip
# unless already unpacked in $WASM_EH_DIR, default /tmp/wasm-eh). Run: bash build.sh
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)   # cli/tests/exceptions: sources and output
T=${WASM_EH_DIR:-/tmp/wasm-eh}                      # work directory: sources, runtimes

PACKAGES="clang-22 lld-22 llvm-22 libc++-22-dev-wasm32 libc++abi-22-dev-wasm32 libclang-rt-22-dev-wasm32"
# shellcheck disable=SC2086
if ! dpkg -s $PACKAGES >/dev/null 2>&1; then
    apt-get update
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $PACKAGES
fi

mkdir -p "$T"
cd "$T"
Z=$T/ziglang/lib
if [ ! -f "$Z/libcxx/include/__config" ] || [ ! -f "$Z/libunwind/src/Unwind-wasm.c" ] ||
   [ ! -f "$Z/libcxxabi/src/cxa_exception.cpp" ]; then
    if ! ls ziglang-0.17.1-*.whl >/dev/null 2>&1; then
        pip3 download --no-deps -d . ziglang==0.17.1   # 101 MB wheel; only the sources are used
    fi
    unzip -q -o ziglang-0.17.1-*.whl 'ziglang/lib/libcxxabi/*' 'ziglang/lib/libunwind/*' \
        'ziglang/lib/libcxx/src/*' 'ziglang/lib/libcxx/include/__config'
fi
# The runtime sources must be the version of Debian's libc++-22-dev-wasm32 (22.1.8).
grep -q '_LIBCPP_VERSION 220108' "$Z/libcxx/include/__config"

# compiler-rt/lib/builtins/wasm/__cpp_exception.S (LLVM 22): the C++ exception tag.
cat > cpp_exception.S <<'EOF'
#ifdef __wasm_exception_handling__
.globl __cpp_exception
.tagtype __cpp_exception i32
__cpp_exception:
#endif
EOF

# build_runtime DIR LEGACY: DIR/libc++abi-wasmeh.a, EH encoding legacy (true) or exnref (false)
build_runtime() {
    local out=$1
    local flags=(--target=wasm32-wasi -Wno-deprecated -O2 -DNDEBUG -fno-stack-protector
                 -fwasm-exceptions -mllvm "-wasm-use-legacy-eh=$2")
    rm -rf "$out"
    mkdir -p "$out/obj"
    clang-22 "${flags[@]}" -c cpp_exception.S -o "$out/obj/cpp_exception.o"
    clang-22 "${flags[@]}" -std=c11 -Wno-c23-extensions -D_LIBUNWIND_HIDE_SYMBOLS \
        -I"$Z/libunwind/include" -c "$Z/libunwind/src/Unwind-wasm.c" -o "$out/obj/Unwind-wasm.o"
    local f
    for f in cxa_aux_runtime cxa_default_handlers cxa_demangle cxa_exception_storage cxa_guard \
             cxa_handlers cxa_vector cxa_virtual stdlib_exception stdlib_stdexcept stdlib_typeinfo \
             abort_message fallback_malloc private_typeinfo stdlib_new_delete \
             cxa_exception cxa_personality; do
        clang++-22 "${flags[@]}" -std=c++23 -fsized-deallocation -fstrict-aliasing \
            -D_LIBCXXABI_BUILDING_LIBRARY -D_LIBCPP_BUILDING_LIBRARY -DLIBCXX_BUILDING_LIBCXXABI \
            -D_LIBCXXABI_HAS_NO_THREADS -DLIBCXXABI_USE_LLVM_UNWINDER \
            -I"$Z/libunwind/include" -I"$Z/libcxxabi/include" -I"$Z/libcxx/src" \
            -c "$Z/libcxxabi/src/$f.cpp" -o "$out/obj/$f.o"
    done
    llvm-ar-22 rcs "$out/libc++abi-wasmeh.a" "$out"/obj/*.o
}
build_runtime "$T/rt-exnref" false
build_runtime "$T/rt-legacy" true

CXX=(clang++-22 --target=wasm32-wasi -Wno-deprecated -O2 -fwasm-exceptions -Wl,--strip-debug)
# compile PROGRAM SUFFIX LEGACY RUNTIME: $SRC/PROGRAM.cpp -> $SRC/PROGRAM$SUFFIX.wasm
compile() {
    "${CXX[@]}" -mllvm "-wasm-use-legacy-eh=$3" "$SRC/$1.cpp" "$T/$4/libc++abi-wasmeh.a" \
        -o "$T/$1$2.wasm"
    install -m 644 "$T/$1$2.wasm" "$SRC/$1$2.wasm"
    echo "wrote $SRC/$1$2.wasm ($(stat -c %s "$SRC/$1$2.wasm") bytes)"
}
# Standard EH (exnref: try_table / throw / throw_ref): what wasmtime runs.
compile throw_catch "" false rt-exnref
compile uncaught "" false rt-exnref
# Legacy EH (try / catch / catch_all / rethrow / delegate): clang-22's default for -fwasm-exceptions.
compile throw_catch .legacy true rt-legacy
compile uncaught .legacy true rt-legacy
