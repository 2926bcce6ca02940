// LSTM, GRU and RNN (ONNX semantics), float32, own kernel.
//
// Inputs: X, W, R, B?, sequence_lens? (int32), initial_h?, initial_c? (LSTM), P? (LSTM) -> Y, Y_h, Y_c (LSTM);
// every output is present (the lowering gives unused ones a scratch value). Attributes: hiddenSize,
// direction 'forward' | 'reverse' | 'bidirectional', layout 0 ([T, B, I] / Y [T, D, B, H]) or 1 ([B, T, I] /
// Y [B, T, D, H]), clip (absent: none), activations (comma separated, k per direction: LSTM f,g,h; GRU f,g;
// RNN f) with activationAlpha / activationBeta (one each per activation, defaults resolved by the lowering),
// linearBeforeReset (GRU), inputForget (LSTM).
//
// Per direction the input projection of every timestep is one matrix product, X·Wᵀ + biases (the recurrence
// biases folded in where ONNX adds them unconditionally), then the recurrence runs one step at a time per batch
// row: gates = proj[t] + R·h. Steps at or past sequence_lens[b] leave Y zero and the state unchanged.
#include <cmath>
#include <cstring>

#include "runtime/op.h"
#include "runtime/ops/vec8.h"

namespace octet {
namespace runtime {

namespace {

enum class Act {
  kRelu,
  kTanh,
  kSigmoid,
  kAffine,
  kLeakyRelu,
  kThresholdedRelu,
  kScaledTanh,
  kHardSigmoid,
  kElu,
  kSoftsign,
  kSoftplus
};

struct Activation {
  Act kind;
  float alpha, beta;

  float operator()(float x) const {
    switch (kind) {
      case Act::kRelu: return x > 0 ? x : (x == x ? 0.0f : x);
      case Act::kTanh: return std::tanh(x);
      case Act::kSigmoid: return 1.0f / (1.0f + std::exp(-x));
      case Act::kAffine: return alpha * x + beta;
      case Act::kLeakyRelu: return x >= 0 ? x : alpha * x;
      case Act::kThresholdedRelu: return x > alpha ? x : (x == x ? 0.0f : x);
      case Act::kScaledTanh: return alpha * std::tanh(beta * x);
      case Act::kHardSigmoid: return std::fmax(0.0f, std::fmin(1.0f, alpha * x + beta));
      case Act::kElu: return x >= 0 ? x : alpha * (std::exp(x) - 1.0f);
      case Act::kSoftsign: return x / (1.0f + std::fabs(x));
      case Act::kSoftplus: return std::log1p(std::exp(x));
    }
    return x;
  }
};

bool ParseAct(const std::string& name, Act* out) {
  static const std::pair<const char*, Act> table[] = {
      {"Relu", Act::kRelu},
      {"Tanh", Act::kTanh},
      {"Sigmoid", Act::kSigmoid},
      {"Affine", Act::kAffine},
      {"LeakyRelu", Act::kLeakyRelu},
      {"ThresholdedRelu", Act::kThresholdedRelu},
      {"ScaledTanh", Act::kScaledTanh},
      {"HardSigmoid", Act::kHardSigmoid},
      {"Elu", Act::kElu},
      {"Softsign", Act::kSoftsign},
      {"Softplus", Act::kSoftplus},
  };
  for (const auto& [n, a] : table)
    if (name == n) {
      *out = a;
      return true;
    }
  return false;
}

// Dot product with 8 partial sums.
OCTET_VECTOR_CLONES float Dot(const float* a, const float* b, size_t n) {
  V8 acc = {};
  size_t i = 0;
  for (; i + 8 <= n; i += 8) acc += Load8(a + i) * Load8(b + i);
  float tail = 0;
  for (; i < n; ++i) tail += a[i] * b[i];
  return Sum8(acc) + tail;
}

// out[r] = a · w[r] for 4 consecutive rows of w (stride n): a is loaded once for the 4 dot products.
OCTET_VECTOR_CLONES void Dot4(const float* a, const float* w, size_t n, float* out) {
  V8 c0 = {}, c1 = {}, c2 = {}, c3 = {};
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const V8 x = Load8(a + i);
    c0 += x * Load8(w + i);
    c1 += x * Load8(w + n + i);
    c2 += x * Load8(w + 2 * n + i);
    c3 += x * Load8(w + 3 * n + i);
  }
  const V8* c[4] = {&c0, &c1, &c2, &c3};
  for (size_t r = 0; r < 4; ++r) {
    float tail = 0;
    for (size_t k = i; k < n; ++k) tail += a[k] * w[r * n + k];
    out[r] = Sum8(*c[r]) + tail;
  }
}

// y[b][j] = a[b] · w[j] for the listed rows b of a (stride n) and j < rows (w row-major [rows, n], stride of
// y: ys). Blocks of 4 rows of w are reused across the rows of a while they are in L1.
void MatVecRows(const float* a, const std::vector<int64_t>& which, const float* w, size_t rows, size_t n, float* y,
                size_t ys) {
  size_t j = 0;
  for (; j + 4 <= rows; j += 4)
    for (int64_t b : which) Dot4(a + b * n, w + j * n, n, y + b * ys + j);
  for (; j < rows; ++j)
    for (int64_t b : which) y[b * ys + j] = Dot(a + b * n, w + j * n, n);
}

enum class Cell { kLstm, kGru, kRnn };

struct Geometry {
  Cell cell;
  int64_t seq, batch, input, hidden, dirs, gates;
  bool layout1, reverse_only;
  bool has_clip;
  float clip;
  bool linear_before_reset, input_forget;
  std::vector<Activation> acts;  // dirs * k

  size_t XRow(int64_t t, int64_t b) const { return static_cast<size_t>(layout1 ? b * seq + t : t * batch + b) * input; }
  size_t YRow(int64_t t, int64_t d, int64_t b) const {
    return static_cast<size_t>(layout1 ? (b * seq + t) * dirs + d : (t * dirs + d) * batch + b) * hidden;
  }
  size_t StateRow(int64_t d, int64_t b) const {
    return static_cast<size_t>(layout1 ? b * dirs + d : d * batch + b) * hidden;
  }
  float Clip(float v) const { return has_clip ? std::fmin(clip, std::fmax(-clip, v)) : v; }
};

struct Buffers {
  const float *x, *w, *r, *bias, *h0, *c0, *peep;
  const int32_t* lens;
  float *y, *yh, *yc;
};

void RunRecurrent(const Geometry& g, const Buffers& io, std::vector<float>& proj, std::vector<float>& scratch) {
  const int64_t T = g.seq, B = g.batch, I = g.input, H = g.hidden, G = g.gates;
  const size_t gh = static_cast<size_t>(G * H);
  std::vector<int64_t> lens(B, T);
  if (io.lens) {
    for (int64_t b = 0; b < B; ++b) {
      const int64_t l = io.lens[b];
      if (l < 0 || l > T)
        throw Error("ERR_OCTET_INDEX_OUT_OF_RANGE", "sequence_lens[" + std::to_string(b) + "] = " + std::to_string(l) +
                                                        " is out of range [0, " + std::to_string(T) + "]");
      lens[b] = l;
    }
  }
  std::memset(io.y, 0, sizeof(float) * static_cast<size_t>(T * g.dirs * B * H));
  const size_t k = g.cell == Cell::kLstm ? 3 : g.cell == Cell::kGru ? 2 : 1;
  float* gates = scratch.data();  // B * G * H
  float* rh = gates + B * gh;     // B * H (GRU: r ⊙ h, then the candidate's matrix product)
  float* cand = rh + B * H;       // B * H
  float* hs = cand + B * H;       // B * H
  float* cs = hs + B * H;         // B * H
  std::vector<int64_t> all(T * B), active;
  for (int64_t i = 0; i < T * B; ++i) all[i] = i;
  for (int64_t d = 0; d < g.dirs; ++d) {
    const bool reverse = g.reverse_only || d == 1;
    const float* w = io.w + d * gh * I;
    const float* r = io.r + d * gh * H;
    const float* wb = io.bias ? io.bias + d * 2 * gh : nullptr;
    const float* rb = wb ? wb + gh : nullptr;
    const Activation* act = g.acts.data() + d * k;
    // Input projection of all timesteps at once: proj[t, b, :] = X[t, b]·Wᵀ + Wb (+ Rb except GRU's h gate).
    // X rows are contiguous in (t, b) order for layout 0; layout 1 packs them first.
    const float* xs = io.x;
    std::vector<float> packed;
    if (g.layout1) {
      packed.resize(static_cast<size_t>(T * B * I));
      for (int64_t t = 0; t < T; ++t)
        for (int64_t b = 0; b < B; ++b) std::memcpy(&packed[(t * B + b) * I], io.x + g.XRow(t, b), sizeof(float) * I);
      xs = packed.data();
    }
    MatVecRows(xs, all, w, gh, I, proj.data(), gh);
    for (int64_t row = 0; row < T * B; ++row) {
      float* p = proj.data() + row * gh;
      for (size_t j = 0; j < gh; ++j) {
        if (wb) p[j] += wb[j];
        if (rb && !(g.cell == Cell::kGru && j >= 2 * static_cast<size_t>(H))) p[j] += rb[j];
      }
    }
    for (int64_t b = 0; b < B; ++b) {
      const size_t srow = g.StateRow(d, b);
      for (int64_t i = 0; i < H; ++i) {
        hs[b * H + i] = io.h0 ? io.h0[srow + i] : 0.0f;
        cs[b * H + i] = io.c0 ? io.c0[srow + i] : 0.0f;
      }
    }
    // The recurrence, one step for every batch row still inside its sequence (R·h blocks reused across rows).
    for (int64_t s = 0; s < T; ++s) {
      active.clear();
      for (int64_t b = 0; b < B; ++b)
        if (s < lens[b]) active.push_back(b);
      if (active.empty()) break;
      const size_t rows = g.cell == Cell::kGru ? 2 * H : gh;
      MatVecRows(hs, active, r, rows, H, gates, gh);
      if (g.cell == Cell::kGru) {
        for (int64_t b : active) {
          const int64_t t = reverse ? lens[b] - 1 - s : s;
          const float* p = proj.data() + (t * B + b) * gh;
          float* gt = gates + b * gh;
          for (int64_t i = 0; i < 2 * H; ++i) gt[i] = act[0](g.Clip(gt[i] + p[i]));  // z, r
          if (!g.linear_before_reset)
            for (int64_t m = 0; m < H; ++m) rh[b * H + m] = gt[H + m] * hs[b * H + m];
        }
        // Candidate: linear_before_reset: r ⊙ (Rh·h + Rbh), else Rh·(r ⊙ h) + Rbh.
        MatVecRows(g.linear_before_reset ? hs : rh, active, r + 2 * H * H, H, H, cand, H);
      }
      for (int64_t b : active) {
        const int64_t t = reverse ? lens[b] - 1 - s : s;
        const float* p = proj.data() + (t * B + b) * gh;
        float* gt = gates + b * gh;
        float* h = hs + b * H;
        float* c = cs + b * H;
        if (g.cell == Cell::kLstm) {
          const float* pi = io.peep ? io.peep + d * 3 * H : nullptr;
          for (int64_t i = 0; i < H; ++i) {
            const float c_prev = c[i];
            const float gi = act[0](g.Clip(gt[i] + p[i] + (pi ? pi[i] * c_prev : 0.0f)));
            const float gf = g.input_forget
                                 ? 1.0f - gi
                                 : act[0](g.Clip(gt[2 * H + i] + p[2 * H + i] + (pi ? pi[2 * H + i] * c_prev : 0.0f)));
            const float gc = act[1](g.Clip(gt[3 * H + i] + p[3 * H + i]));
            const float cell = gf * c_prev + gi * gc;
            const float go = act[0](g.Clip(gt[H + i] + p[H + i] + (pi ? pi[H + i] * cell : 0.0f)));
            c[i] = cell;
            h[i] = go * act[2](cell);
          }
        } else if (g.cell == Cell::kGru) {
          for (int64_t i = 0; i < H; ++i) {
            const float rh_b = cand[b * H + i] + (rb ? rb[2 * H + i] : 0.0f);
            const float pre = p[2 * H + i] + (g.linear_before_reset ? gt[H + i] * rh_b : rh_b);
            const float z = gt[i];
            h[i] = (1.0f - z) * act[1](g.Clip(pre)) + z * h[i];
          }
        } else {
          for (int64_t i = 0; i < H; ++i) h[i] = act[0](g.Clip(gt[i] + p[i]));
        }
        std::memcpy(io.y + g.YRow(t, d, b), h, sizeof(float) * H);
      }
    }
    for (int64_t b = 0; b < B; ++b) {
      const size_t srow = g.StateRow(d, b);
      std::memcpy(io.yh + srow, hs + b * H, sizeof(float) * H);
      if (io.yc) std::memcpy(io.yc + srow, cs + b * H, sizeof(float) * H);
    }
  }
}

std::unique_ptr<Op> CreateRecurrent(OpContext& ctx) {
  const std::string& op = ctx.node().op;
  const Cell cell = op == "LSTM" ? Cell::kLstm : op == "GRU" ? Cell::kGru : Cell::kRnn;
  const bool lstm = cell == Cell::kLstm;
  ctx.ExpectArity(3, lstm ? 8 : 6, lstm ? 3 : 2);
  const ValueDesc& x = ctx.input(0);
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i) || i == 4) continue;
    static const char* names[] = {"X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"};
    ctx.ExpectDType(ctx.input(i), ElemType::kFloat32, names[i]);
  }
  ctx.Expect(x.shape.size() == 3, "X must be 3-D");
  Geometry g;
  g.cell = cell;
  g.gates = lstm ? 4 : cell == Cell::kGru ? 3 : 1;
  const int64_t layout = ctx.Int("layout", 0);
  ctx.Expect(layout == 0 || layout == 1, "layout must be 0 or 1");
  g.layout1 = layout == 1;
  g.seq = x.shape[g.layout1 ? 1 : 0];
  g.batch = x.shape[g.layout1 ? 0 : 1];
  g.input = x.shape[2];
  g.hidden = ctx.Int("hiddenSize");
  ctx.Expect(g.hidden > 0 && g.hidden <= (int64_t{1} << 24), "hiddenSize must be a positive integer");
  const std::string direction = ctx.Str("direction", "forward");
  ctx.Expect(direction == "forward" || direction == "reverse" || direction == "bidirectional",
             "direction must be 'forward', 'reverse' or 'bidirectional'");
  g.dirs = direction == "bidirectional" ? 2 : 1;
  g.reverse_only = direction == "reverse";
  g.has_clip = ctx.Has("clip");
  g.clip = static_cast<float>(ctx.Float("clip", 0));
  ctx.Expect(!g.has_clip || g.clip > 0, "clip must be positive");
  g.linear_before_reset = cell == Cell::kGru && ctx.Int("linearBeforeReset", 0) != 0;
  g.input_forget = lstm && ctx.Int("inputForget", 0) != 0;
  const int64_t D = g.dirs, H = g.hidden, G = g.gates;
  ctx.ExpectShape(ctx.input(1), {D, G * H, g.input}, "W");
  ctx.ExpectShape(ctx.input(2), {D, G * H, H}, "R");
  if (ctx.has_input(3)) ctx.ExpectShape(ctx.input(3), {D, 2 * G * H}, "B");
  if (ctx.has_input(4)) {
    ctx.ExpectDType(ctx.input(4), ElemType::kInt32, "sequence_lens");
    ctx.ExpectShape(ctx.input(4), {g.batch}, "sequence_lens");
  }
  const Shape state = g.layout1 ? Shape{g.batch, D, H} : Shape{D, g.batch, H};
  if (ctx.has_input(5)) ctx.ExpectShape(ctx.input(5), state, "initial_h");
  if (lstm && ctx.has_input(6)) ctx.ExpectShape(ctx.input(6), state, "initial_c");
  if (lstm && ctx.has_input(7)) ctx.ExpectShape(ctx.input(7), {D, 3 * H}, "P");
  const Shape yshape = g.layout1 ? Shape{g.batch, g.seq, D, H} : Shape{g.seq, D, g.batch, H};
  ctx.ExpectShape(ctx.output(0), yshape, "Y");
  ctx.ExpectShape(ctx.output(1), state, "Y_h");
  if (lstm) ctx.ExpectShape(ctx.output(2), state, "Y_c");
  for (size_t i = 0; i < ctx.num_outputs(); ++i) ctx.ExpectDType(ctx.output(i), ElemType::kFloat32, "output");
  // Activations: k per direction, with their alpha / beta.
  const size_t k = lstm ? 3 : cell == Cell::kGru ? 2 : 1;
  const std::string list = ctx.Str("activations", lstm                 ? "Sigmoid,Tanh,Tanh"
                                                  : cell == Cell::kGru ? "Sigmoid,Tanh"
                                                                       : "Tanh");
  std::vector<std::string> names;
  for (size_t start = 0;;) {
    const size_t comma = list.find(',', start);
    names.push_back(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (names.size() == k && D == 2) {
    const std::vector<std::string> once = names;
    names.insert(names.end(), once.begin(), once.end());
  }
  ctx.Expect(names.size() == k * D, "activations must list " + std::to_string(k * D) + " functions");
  const std::vector<double> alphas = ctx.Floats("activationAlpha", std::vector<double>(names.size(), 0.0));
  const std::vector<double> betas = ctx.Floats("activationBeta", std::vector<double>(names.size(), 0.0));
  ctx.Expect(alphas.size() == names.size() && betas.size() == names.size(),
             "activationAlpha and activationBeta must have one value per activation");
  for (size_t i = 0; i < names.size(); ++i) {
    Activation a{Act::kTanh, static_cast<float>(alphas[i]), static_cast<float>(betas[i])};
    ctx.Expect(ParseAct(names[i], &a.kind), "unsupported activation '" + names[i] + "'");
    g.acts.push_back(a);
  }
  Buffers io{};
  io.x = ctx.in<float>(0);
  io.w = ctx.in<float>(1);
  io.r = ctx.in<float>(2);
  io.bias = ctx.has_input(3) ? ctx.in<float>(3) : nullptr;
  io.lens = ctx.has_input(4) ? ctx.in<int32_t>(4) : nullptr;
  io.h0 = ctx.has_input(5) ? ctx.in<float>(5) : nullptr;
  io.c0 = lstm && ctx.has_input(6) ? ctx.in<float>(6) : nullptr;
  io.peep = lstm && ctx.has_input(7) ? ctx.in<float>(7) : nullptr;
  io.y = ctx.out<float>(0);
  io.yh = ctx.out<float>(1);
  io.yc = lstm ? ctx.out<float>(2) : nullptr;
  std::vector<float> proj(static_cast<size_t>(g.seq * g.batch * G * H));
  std::vector<float> scratch(static_cast<size_t>(g.batch * (G * H + 4 * H)));
  std::string impl = std::string("own:") + (lstm ? "lstm" : cell == Cell::kGru ? "gru" : "rnn") + "_f32";
  return MakeOp(impl, [g, io, proj, scratch]() mutable { RunRecurrent(g, io, proj, scratch); });
}

}  // namespace

std::unique_ptr<Op> CreateRecurrentOp(OpContext& ctx) {
  return CreateRecurrent(ctx);
}

}  // namespace runtime
}  // namespace octet
