# `cmake --install` puts headers, libraries, schemas and a package config in place,
# so that another project can say find_package(actorproc) and link actorproc::actorproc.
include(CMakePackageConfigHelpers)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/libactorproc/include/actorproc
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_BINARY_DIR}/schemas/include/actorproc
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
install(DIRECTORY ${PROJECT_SOURCE_DIR}/schemas/actorproc
        DESTINATION ${CMAKE_INSTALL_DATADIR}/actorproc/schemas FILES_MATCHING PATTERN "*.capnp")
install(FILES ${PROJECT_SOURCE_DIR}/cmake/actorproc_dependencies.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/actorproc)

install(EXPORT actorprocTargets NAMESPACE actorproc::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/actorproc)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/actorprocConfig.cmake.in
  ${PROJECT_BINARY_DIR}/actorprocConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/actorproc)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/actorprocConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/actorprocConfig.cmake
              ${PROJECT_BINARY_DIR}/actorprocConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/actorproc)
