// Error plumbing between C++ and JS. Every exported function body runs inside OCTET_TRY/OCTET_CATCH so that
// no C++ exception escapes into Node: std::exception becomes a JS Error with a `code` property.
#pragma once

#include <napi.h>

#include <string>

#include "backends/backend.h"

namespace octet {

inline Napi::Error MakeError(Napi::Env env, const std::string& code, const std::string& message) {
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("code", Napi::String::New(env, code));
  return error;
}

// Argument checks the TypeScript layer already made; repeated here so a direct caller cannot crash the process.
#define OCTET_REQUIRE(env, cond, message)                                                  \
  do {                                                                                     \
    if (!(cond)) throw ::octet::Error("ERR_OCTET_INVALID_ARGUMENT", std::string(message)); \
  } while (0)

#define OCTET_TRY try {
#define OCTET_CATCH(env)                                                       \
  }                                                                            \
  catch (const Napi::Error& e) {                                               \
    throw;                                                                     \
  }                                                                            \
  catch (const ::octet::Error& e) {                                            \
    throw ::octet::MakeError(env, e.code(), e.what());                         \
  }                                                                            \
  catch (const std::bad_alloc&) {                                              \
    throw ::octet::MakeError(env, "ERR_OCTET_OUT_OF_MEMORY", "out of memory"); \
  }                                                                            \
  catch (const std::exception& e) {                                            \
    throw ::octet::MakeError(env, "ERR_OCTET_NATIVE", e.what());               \
  }

}  // namespace octet
