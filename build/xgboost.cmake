# CMake toolchain file for XGBoost's C++ build (the `xgboost_lib-sys` crate, pointed here by
# .cargo/config.toml): a static library, so that `mlopsc` is one self-contained binary, built
# `Release` (-O3, no debug info) like the Python wheels whatever Cargo profile builds it.
set(BUILD_STATIC_LIB ON CACHE BOOL "" FORCE)
set(CMAKE_BUILD_TYPE Release CACHE STRING "" FORCE)
