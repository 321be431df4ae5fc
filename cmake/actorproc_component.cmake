# actorproc_component(<name> SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
#
# Builds one layer of the library (wire, process, actor, node) the same way every
# time: a static library `actorproc_<name>` with the alias `actorproc::<name>`, the
# public headers of libactorproc/include, warnings on, and an export for install.
# Its own sources also see the library-internal headers (libactorproc/internal,
# see libactorproc/CMakeLists.txt); that directory is PRIVATE, so it reaches
# neither the export nor the programs that link the library.
set(ACTORPROC_INTERNAL_INCLUDE_DIR ${PROJECT_SOURCE_DIR}/libactorproc/internal)
function(actorproc_component name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  set(target actorproc_${name})
  add_library(${target} STATIC ${ARG_SOURCES})
  add_library(actorproc::${name} ALIAS ${target})
  set_target_properties(${target} PROPERTIES
    EXPORT_NAME ${name}
    POSITION_INDEPENDENT_CODE ON)
  if(ACTORPROC_UNITY_BUILD)
    # One batch per component (see ACTORPROC_UNITY_BUILD): the files of one
    # layer share their anonymous namespace, so two of them must not define
    # the same internal name.
    set_target_properties(${target} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 0)
  endif()
  target_include_directories(${target} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/libactorproc/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_include_directories(${target} PRIVATE ${ACTORPROC_INTERNAL_INCLUDE_DIR})
  target_compile_features(${target} PUBLIC cxx_std_20)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
  target_link_libraries(${target} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  install(TARGETS ${target} EXPORT actorprocTargets
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
endfunction()

# actorproc_program(<name> SOURCES ... [LIBS ...]): an executable with the project's warnings.
function(actorproc_program name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE -Wall -Wextra)
  target_link_libraries(${name} PRIVATE ${ARG_LIBS})
endfunction()
