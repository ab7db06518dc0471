# Helpers every module's CMakeLists.txt uses, so that warnings, sanitizers,
# tests, benchmarks and fuzz targets are declared the same way everywhere.

set(HX_WARNINGS -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast)
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  list(APPEND HX_WARNINGS -Wthread-safety)
endif()
if(HX_WERROR)
  list(APPEND HX_WARNINGS -Werror)
endif()

if(HX_SANITIZE)
  add_compile_options(-fsanitize=${HX_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${HX_SANITIZE})
endif()

function(hx_apply_warnings target)
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:${HX_WARNINGS}>)
endfunction()

# hx_add_library(name SOURCES ... DEPS ...): one module library; DEPS are
# public dependencies (modules below it, or imported targets).
function(hx_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  hx_apply_warnings(${name})
endfunction()

# hx_add_test(name SOURCES ... DEPS ...): a GoogleTest binary registered with CTest.
# Tests run with the module's source folder as working directory, and
# HX_SHARED_DIR points at ../shared (the official vectors).
function(hx_add_test name)
  if(NOT HX_BUILD_TESTS)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  # rc_default_seed_test_util.cc: rapidcheck properties run at a fixed seed
  # unless RC_PARAMS names another (the file says why).
  add_executable(${name} ${ARG_SOURCES} ${PROJECT_SOURCE_DIR}/src/base/rc_default_seed_test_util.cc)
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    HX_SHARED_DIR="${HX_SHARED_DIR}" HX_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  hx_apply_warnings(${name})
  # Each test is labelled with its binary, so a flavour can run some binaries
  # only (ctest -L).
  gtest_discover_tests(${name} WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
    DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 600 LABELS ${name})
endfunction()

# hx_add_bench(SOURCES ... DEPS ...): adds Google Benchmark cases to hx_bench.
function(hx_add_bench)
  if(NOT HX_BUILD_BENCH)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  target_sources(hx_bench PRIVATE ${ARG_SOURCES})
  target_link_libraries(hx_bench PRIVATE ${ARG_DEPS})
endfunction()

# hx_add_fuzz(name SOURCES ... DEPS ...): a libFuzzer target (clang, HX_FUZZ=ON).
# scripts/fuzz.sh runs every target named in HX_FUZZ_TARGETS.txt.
function(hx_add_fuzz name)
  if(NOT HX_FUZZ)
    return()
  endif()
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  hx_apply_warnings(${name})
  file(APPEND ${PROJECT_BINARY_DIR}/HX_FUZZ_TARGETS.txt "${name} ${CMAKE_CURRENT_SOURCE_DIR}\n")
endfunction()
