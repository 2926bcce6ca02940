#pragma once

#include <napi.h>

namespace octet {

Napi::Value Backends(const Napi::CallbackInfo& info);

}  // namespace octet
