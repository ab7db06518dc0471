# Writes the completion scripts and the man page that `hx` generates from its
# own command definitions (src/cli/command_spec.h) into a tree shaped like
# /usr/share, for cmake/HxPackaging.cmake's install rules:
#   cmake -DHX=path/to/hx -DOUT=build/share -P cmake/HxShellFiles.cmake
# The man page is compressed as Debian ships it (gzip -9n: no name, no time,
# so the bytes depend only on hx).
foreach(var HX OUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "HxShellFiles.cmake needs -D${var}=...")
  endif()
endforeach()
# A sanitizer build of hx must not fail the build over its exit-time report.
set(ENV{ASAN_OPTIONS} "detect_leaks=0")

function(hx_generate output)
  get_filename_component(dir "${OUT}/${output}" DIRECTORY)
  file(MAKE_DIRECTORY "${dir}")
  execute_process(COMMAND "${HX}" ${ARGN}
    OUTPUT_FILE "${OUT}/${output}.tmp" RESULT_VARIABLE result ERROR_VARIABLE error)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "hx ${ARGN} failed (${result}): ${error}")
  endif()
  file(RENAME "${OUT}/${output}.tmp" "${OUT}/${output}")
endfunction()

hx_generate(bash-completion/completions/hx completion bash)
hx_generate(zsh/vendor-completions/_hx completion zsh)
hx_generate(fish/vendor_completions.d/hx.fish completion fish)
hx_generate(man/man1/hx.1 man)

find_program(HX_GZIP gzip REQUIRED)
execute_process(COMMAND "${HX_GZIP}" -9 -n -c "${OUT}/man/man1/hx.1"
  OUTPUT_FILE "${OUT}/man/man1/hx.1.gz" RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "gzip of hx.1 failed (${result})")
endif()
