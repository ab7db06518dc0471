# Every dependency comes from a Debian package (scripts/deps.sh installs them).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(CURL REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
pkg_check_modules(ZSTD REQUIRED IMPORTED_TARGET libzstd)
pkg_check_modules(LIBZIP REQUIRED IMPORTED_TARGET libzip)
pkg_check_modules(LIBUV REQUIRED IMPORTED_TARGET libuv)
# The hx binary allocates through jemalloc: a no-change scan of 100,000 files
# builds and frees a few hundred thousand small objects, and glibc malloc
# spent ~17% of that run in malloc/free/consolidate (docs/BENCHMARKS.md).
# Not with sanitizers, which bring their own allocator.
option(HX_JEMALLOC "Link the hx binary with jemalloc" ON)
if(HX_JEMALLOC AND HX_SANITIZE STREQUAL "" AND NOT HX_FUZZ)
  pkg_check_modules(JEMALLOC REQUIRED IMPORTED_TARGET jemalloc)
endif()
if(HX_BUILD_TESTS)
  find_package(GTest REQUIRED)
  find_package(rapidcheck REQUIRED)
endif()
if(HX_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
