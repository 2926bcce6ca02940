// Shared validation of Conv / ConvTranspose / pooling windows on NHWC data.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "runtime/op.h"

namespace octet {
namespace runtime {

struct Window2D {
  int64_t n = 0, h = 0, w = 0, c = 0;      // input NHWC
  int64_t oh = 0, ow = 0, oc = 0;          // output
  int64_t kh = 1, kw = 1;                  // kernel
  int64_t sh = 1, sw = 1;                  // strides
  int64_t dh = 1, dw = 1;                  // dilations
  int64_t pt = 0, pl = 0, pb = 0, pr = 0;  // pads: top, left, bottom, right
  int64_t groups = 1;
  // Conv only: the plan's weights, OHWI or (weights_oihw) OIHW. oneDNN reorders either; XNNPACK takes OHWI, so an
  // XNNPACK Conv on OIHW weights transposes them into a copy that lives while it packs them.
  const void* weights = nullptr;
  bool weights_oihw = false;
};

// Reads strides / dilations / pads ([top, left, bottom, right]) and checks them; kh, kw must be set.
inline void ReadWindowAttrs(OpContext& ctx, Window2D* g, bool dilations = true) {
  std::vector<int64_t> s = ctx.Ints("strides", {1, 1});
  ctx.Expect(s.size() == 2 && s[0] >= 1 && s[1] >= 1 && s[0] <= 1 << 16 && s[1] <= 1 << 16,
             "expected strides = [sh, sw] with values >= 1");
  g->sh = s[0];
  g->sw = s[1];
  if (dilations) {
    std::vector<int64_t> d = ctx.Ints("dilations", {1, 1});
    ctx.Expect(d.size() == 2 && d[0] >= 1 && d[1] >= 1 && d[0] <= 1 << 16 && d[1] <= 1 << 16,
               "expected dilations = [dh, dw] with values >= 1");
    g->dh = d[0];
    g->dw = d[1];
  }
  std::vector<int64_t> p = ctx.Ints("pads", {0, 0, 0, 0});
  ctx.Expect(p.size() == 4, "expected pads = [top, left, bottom, right]");
  for (int64_t v : p) ctx.Expect(v >= 0 && v <= 1 << 16, "expected pads >= 0");
  g->pt = p[0];
  g->pl = p[1];
  g->pb = p[2];
  g->pr = p[3];
  ctx.Expect(g->kh >= 1 && g->kw >= 1 && g->kh <= 1 << 16 && g->kw <= 1 << 16, "expected a kernel of at least 1x1");
}

// Input X (input 0) must be 4-D NHWC; computes the forward (conv/pool) output size and checks output 0.
inline void CheckForwardWindow(OpContext& ctx, Window2D* g, int64_t out_channels) {
  const ValueDesc& x = ctx.input(0);
  ctx.Expect(x.shape.size() == 4, "expected 4-D NHWC input '" + x.name + "' but its shape is " + ShapeString(x.shape));
  g->n = x.shape[0];
  g->h = x.shape[1];
  g->w = x.shape[2];
  g->c = x.shape[3];
  const int64_t ekh = (g->kh - 1) * g->dh + 1, ekw = (g->kw - 1) * g->dw + 1;
  const int64_t ph = g->h + g->pt + g->pb, pw = g->w + g->pl + g->pr;
  ctx.Expect(ph >= ekh && pw >= ekw, "the (dilated) window " + std::to_string(ekh) + "x" + std::to_string(ekw) +
                                         " is larger than the padded input " + std::to_string(ph) + "x" +
                                         std::to_string(pw));
  g->oh = (ph - ekh) / g->sh + 1;
  g->ow = (pw - ekw) / g->sw + 1;
  g->oc = out_channels;
  ctx.ExpectShape(ctx.output(0), {g->n, g->oh, g->ow, g->oc}, "output");
}

// What a float32 Conv applies after its clamp (attributes `activation`, `affineScale`, `affineBias`):
// y = scale * hardswish(y) + bias, hardswish(y) = y * min(max(y + 3, 0), 6) / 6.
struct FloatEpilogue {
  bool hard_swish = false;
  float scale = 1.0f;
  float bias = 0.0f;

  bool active() const { return hard_swish || scale != 1.0f || bias != 0.0f; }
  void Apply(float* y, size_t n) const {
    for (size_t i = 0; i < n; ++i) {
      float v = y[i];
      if (hard_swish) v = v * std::min(std::max(v + 3.0f, 0.0f), 6.0f) / 6.0f;
      y[i] = v * scale + bias;
    }
  }
};

}  // namespace runtime
}  // namespace octet
