# Installing and packaging hx: `cmake --install` and `cpack -G DEB` put the
# same files in place:
#
#   bin/hx
#   share/bash-completion/completions/hx      }
#   share/zsh/vendor-completions/_hx          } generated at build time by the
#   share/fish/vendor_completions.d/hx.fish   } built hx from its own command
#   share/man/man1/hx.1.gz                    } definitions (cmake/HxShellFiles.cmake)
#   lib/systemd/user/hx-watch@.service        contrib/systemd's unit, its ExecStart
#                                             pointing at the installed bin/hx
#
# The Debian package's Depends come from dpkg-shlibdeps (the packages that
# hold the shared libraries bin/hx links), so they are right for the machine
# that builds the package. Tests: cli_completion (the scripts and the man
# page) and cli_package (cmake --install, the .deb's contents, dependencies,
# and dpkg -i / -r in a scratch root); cli_package_system (opt-in,
# -DHX_TEST_SYSTEM_PACKAGE=ON) installs the .deb on this machine.
include(GNUInstallDirs)

set(HX_SYSTEMD_USER_UNIT_DIR "lib/systemd/user" CACHE STRING
    "Where the systemd user unit goes, relative to the prefix (share/systemd/user for --prefix ~/.local)")

# --- generated files --------------------------------------------------------
set(HX_SHARE_OUT ${PROJECT_BINARY_DIR}/share)
set(HX_SHELL_FILES
  ${HX_SHARE_OUT}/bash-completion/completions/hx
  ${HX_SHARE_OUT}/zsh/vendor-completions/_hx
  ${HX_SHARE_OUT}/fish/vendor_completions.d/hx.fish
  ${HX_SHARE_OUT}/man/man1/hx.1
  ${HX_SHARE_OUT}/man/man1/hx.1.gz)
add_custom_command(OUTPUT ${HX_SHELL_FILES}
  COMMAND ${CMAKE_COMMAND} -DHX=$<TARGET_FILE:hx> -DOUT=${HX_SHARE_OUT}
          -P ${PROJECT_SOURCE_DIR}/cmake/HxShellFiles.cmake
  DEPENDS hx ${PROJECT_SOURCE_DIR}/cmake/HxShellFiles.cmake
  COMMENT "Generating the shell completions and the man page from hx's command definitions")
add_custom_target(hx_shell_files ALL DEPENDS ${HX_SHELL_FILES})

# --- install rules ----------------------------------------------------------
install(TARGETS hx RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${HX_SHARE_OUT}/bash-completion/completions/hx
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
install(FILES ${HX_SHARE_OUT}/zsh/vendor-completions/_hx
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
install(FILES ${HX_SHARE_OUT}/fish/vendor_completions.d/hx.fish
        DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d)
install(FILES ${HX_SHARE_OUT}/man/man1/hx.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
# The unit in contrib/ runs %h/.local/bin/hx (a hand copy); the installed one
# runs the installed binary. The prefix is only known at install time (cpack
# installs with its own), so the unit is written then, and installed next.
set(HX_UNIT_OUT ${PROJECT_BINARY_DIR}/systemd/hx-watch@.service)
install(CODE "
  file(READ \"${PROJECT_SOURCE_DIR}/contrib/systemd/hx-watch@.service\" hx_unit)
  set(hx_bin \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/hx\")
  string(REPLACE \"ExecStart=%h/.local/bin/hx \" \"ExecStart=\${hx_bin} \" hx_installed \"\${hx_unit}\")
  if(hx_installed STREQUAL hx_unit)
    message(FATAL_ERROR \"contrib/systemd/hx-watch@.service: no 'ExecStart=%h/.local/bin/hx ' line to point at \${hx_bin}\")
  endif()
  string(REPLACE \"#   cp contrib/systemd/hx-watch@.service ~/.config/systemd/user/\\n\" \"\"
         hx_installed \"\${hx_installed}\")
  string(REPLACE \"Documentation=\" \"Documentation=man:hx(1) \" hx_installed \"\${hx_installed}\")
  file(WRITE \"${HX_UNIT_OUT}\" \"\${hx_installed}\")
")
install(FILES ${HX_UNIT_OUT} DESTINATION ${HX_SYSTEMD_USER_UNIT_DIR})

# --- the Debian package (cpack -G DEB) ---------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME hx)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "hx")
set(CPACK_PACKAGE_CONTACT "hx maintainers <hx@example.invalid>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "keeps one folder identical across devices through a store you own")
# The long description, wrapped as Debian's control files want it (< 80 columns).
string(JOIN "\n" CPACK_PACKAGE_DESCRIPTION
  "hx syncs a folder across devices through a store you own: a plain folder"
  "(NAS share, USB disk) or any S3-compatible bucket, end-to-end encrypted,"
  "fast at 100k+ files, and never silently overwriting anyone's work."
  "."
  "The package holds the hx command, its bash, zsh and fish completions, its"
  "man page and a systemd user unit (hx-watch@.service) that keeps one vault"
  "in sync.")
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
# Depends from the shared libraries bin/hx needs (dpkg-shlibdeps, dpkg-dev).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# S3 over HTTPS checks the server against the system's CA bundle.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS ca-certificates)
# Debian strips binaries (the debug info belongs in a -dbgsym package).
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Install with DESTDIR and the real prefix, so that the install-time
# CMAKE_INSTALL_PREFIX (the unit's ExecStart) is /usr, not the staging tree.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
include(CPack)

# --- tests ------------------------------------------------------------------
if(HX_BUILD_TESTS)
  find_package(Python3 REQUIRED COMPONENTS Interpreter)
  # The completion scripts and the man page, against every command's --help.
  add_test(NAME cli_completion
    COMMAND ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/src/cli/completion_test.py $<TARGET_FILE:hx>)
  set_tests_properties(cli_completion PROPERTIES LABELS cli_completion TIMEOUT 300)
  # cmake --install and the .deb (a scratch dpkg root). Not in sanitizer
  # builds: a package is built from a release-like tree, and the checks do
  # not depend on the instrumentation.
  set(HX_PACKAGE_TEST ${Python3_EXECUTABLE} ${PROJECT_SOURCE_DIR}/src/cli/package_test.py
      --build-dir ${PROJECT_BINARY_DIR} --cmake ${CMAKE_COMMAND} --cpack ${CMAKE_CPACK_COMMAND})
  if(HX_SANITIZE STREQUAL "")
    add_test(NAME cli_package COMMAND ${HX_PACKAGE_TEST})
    # Installs write the unit into the build tree (see above): one at a time.
    set_tests_properties(cli_package PROPERTIES LABELS cli_package TIMEOUT 600
                         RESOURCE_LOCK hx_install)
  endif()
  # dpkg -i / -r on this machine: root, and it changes /usr (src/cli/package_test.py).
  option(HX_TEST_SYSTEM_PACKAGE "Add cli_package_system: dpkg -i the .deb on this machine, run hx, dpkg -r" OFF)
  if(HX_TEST_SYSTEM_PACKAGE)
    add_test(NAME cli_package_system COMMAND ${HX_PACKAGE_TEST} --system)
    set_tests_properties(cli_package_system PROPERTIES LABELS cli_package_system TIMEOUT 600
                         RESOURCE_LOCK hx_install)
  endif()
endif()
