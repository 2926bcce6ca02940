// XNNPACK backend: shared helpers for the operator wrappers in this folder.
#pragma once

#include <pthreadpool.h>
#include <xnnpack.h>

#include <memory>
#include <string>

#include "backends/backend.h"

namespace octet {
namespace xnnpack {

const char* StatusName(xnn_status status);

// Throws octet::Error("ERR_OCTET_XNNPACK", "<call> failed: <status> ...") unless status is success.
void Check(xnn_status status, const char* call);

struct OperatorDeleter {
  void operator()(xnn_operator_t op) const {
    if (op != nullptr) xnn_delete_operator(op);
  }
};
using OperatorPtr = std::unique_ptr<xnn_operator, OperatorDeleter>;

struct ThreadPoolDeleter {
  void operator()(pthreadpool_t pool) const {
    if (pool != nullptr) pthreadpool_destroy(pool);
  }
};
using ThreadPoolPtr = std::unique_ptr<pthreadpool, ThreadPoolDeleter>;

// threads <= 1 gives nullptr: XNNPACK then runs on the calling thread.
ThreadPoolPtr CreateThreadPool(int threads);

}  // namespace xnnpack
}  // namespace octet
