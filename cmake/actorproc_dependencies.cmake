# Every dependency comes from Debian 12's packages; nothing is vendored or downloaded.
find_package(Threads REQUIRED)
# CapnProto's package probes libatomic by compiling C; a consumer project that enables
# only CXX would fail that probe, and x86-64 needs no libatomic for 8-byte atomics.
get_property(_actorproc_languages GLOBAL PROPERTY ENABLED_LANGUAGES)
if(NOT "C" IN_LIST _actorproc_languages AND NOT DEFINED FOUND_LIBATOMIC)
  set(FOUND_LIBATOMIC TRUE CACHE BOOL "libatomic is not needed on this target")
endif()
find_package(CapnProto 0.9 REQUIRED)

# Debian's libcaf-dev ships neither a CAFConfig.cmake nor a .pc file, so the imported
# targets are made here. Only the host-side layers (node/) link them.
find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
find_library(CAF_CORE_LIBRARY caf_core REQUIRED)
find_library(CAF_IO_LIBRARY caf_io REQUIRED)
if(NOT TARGET CAF::core)
  add_library(CAF::core UNKNOWN IMPORTED)
  set_target_properties(CAF::core PROPERTIES
    IMPORTED_LOCATION "${CAF_CORE_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${CAF_INCLUDE_DIR}"
    INTERFACE_LINK_LIBRARIES Threads::Threads)
  add_library(CAF::io UNKNOWN IMPORTED)
  set_target_properties(CAF::io PROPERTIES
    IMPORTED_LOCATION "${CAF_IO_LIBRARY}"
    INTERFACE_LINK_LIBRARIES "CAF::core;Threads::Threads")
endif()
