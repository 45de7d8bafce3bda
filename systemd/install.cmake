# Install rules for the systemd integration (included from gemd/CMakeLists.txt, so that
# `cmake --install <build>` installs the daemon and its unit together):
#   <prefix>/sbin/gemd, <prefix>/bin/gemctl
#   <prefix>/lib/systemd/system/gemd.service   (ExecStart points at the installed gemd)
#   <prefix>/lib/systemd/system/gem-sandbox.socket, gem-sandbox@.service (the grader service;
#                                               ExecStart points at <libexec>/gem/gem-sandbox)
#   <prefix>/lib/sysusers.d/gemd.conf, <prefix>/lib/tmpfiles.d/gemd.conf
#   <prefix>/share/doc/gem/gemd.toml.example, and /etc/gemd/gemd.toml when there is none yet
# After installing: systemd-sysusers; systemd-tmpfiles --create; systemctl daemon-reload;
# systemctl enable --now gemd.
include(GNUInstallDirs)
set(_gem_systemd_dir ${PROJECT_SOURCE_DIR}/systemd)
file(READ ${_gem_systemd_dir}/gemd.service _gem_unit)
string(REPLACE "/usr/local/sbin/gemd" "${CMAKE_INSTALL_FULL_SBINDIR}/gemd" _gem_unit "${_gem_unit}")
file(WRITE ${CMAKE_BINARY_DIR}/systemd/gemd.service "${_gem_unit}")
install(FILES ${CMAKE_BINARY_DIR}/systemd/gemd.service DESTINATION lib/systemd/system)
install(FILES ${_gem_systemd_dir}/gem-sandbox.socket DESTINATION lib/systemd/system)
file(READ ${_gem_systemd_dir}/gem-sandbox@.service _gem_sandbox_unit)
string(REPLACE "/usr/local/libexec/gem/gem-sandbox" "${CMAKE_INSTALL_FULL_LIBEXECDIR}/gem/gem-sandbox"
       _gem_sandbox_unit "${_gem_sandbox_unit}")
file(WRITE ${CMAKE_BINARY_DIR}/systemd/gem-sandbox@.service "${_gem_sandbox_unit}")
install(FILES ${CMAKE_BINARY_DIR}/systemd/gem-sandbox@.service DESTINATION lib/systemd/system)
install(FILES ${_gem_systemd_dir}/gemd.sysusers DESTINATION lib/sysusers.d RENAME gemd.conf)
install(FILES ${_gem_systemd_dir}/gemd.tmpfiles DESTINATION lib/tmpfiles.d RENAME gemd.conf)
install(FILES ${_gem_systemd_dir}/gemd.toml.example DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(CODE "
  set(_conf \"\$ENV{DESTDIR}${CMAKE_INSTALL_FULL_SYSCONFDIR}/gemd/gemd.toml\")
  if(NOT EXISTS \"\${_conf}\")
    file(INSTALL \"${_gem_systemd_dir}/gemd.toml.example\"
         DESTINATION \"\$ENV{DESTDIR}${CMAKE_INSTALL_FULL_SYSCONFDIR}/gemd\"
         RENAME gemd.toml)
  else()
    message(STATUS \"Kept existing \${_conf}\")
  endif()")
