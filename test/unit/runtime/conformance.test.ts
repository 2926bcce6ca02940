/**
 * ONNX backend conformance data (Debian libonnx-testdata: node/<case>/test_data_set_0/{input,output}_N.pb),
 * run through plans built by hand the way the lowering will build them: NCHW graph inputs go through a
 * Transpose to NHWC at the entry and back at the exit, conv weights are reordered OIHW -> OHWI, quantization
 * parameters that ONNX passes as inputs become the values' quant. Attributes are read from each model.onnx.
 */
import { existsSync, readFileSync } from 'node:fs';

import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';

import { onednnHasInt8Dot } from '../../../src/backends.js';
import { createPlan, type PlanAttr, type PlanBackend, type PlanDType, type PlanOp, type PlanQuant, type PlanTypedArray } from '../../../src/runtime/plan.js';
import { expectClose, expectQuantClose, PlanBuilder, quant } from './helpers.js';

const ROOT = '/usr/share/libonnx-testdata/data/node';
const { onnx } = onnxProto as unknown as { onnx: { TensorProto: { decode(b: Uint8Array): TensorProto }; ModelProto: { decode(b: Uint8Array): ModelProto } } };

interface Long { toNumber(): number }
interface TensorProto { dims: (number | Long)[]; dataType: number; rawData?: Uint8Array; floatData: number[]; int32Data: number[]; int64Data: (number | Long)[] }
interface AttributeProto { name: string; i?: number | Long; f?: number; ints: (number | Long)[]; floats: number[]; s?: Uint8Array }
interface ModelProto { graph: { node: { opType: string; attribute: AttributeProto[] }[] } }

const n = (v: number | Long | undefined) => (typeof v === 'object' && v !== null ? v.toNumber() : (v ?? 0));

interface Tensor { dtype: PlanDType; shape: number[]; data: PlanTypedArray }

function tensor(t: TensorProto): Tensor {
  const shape = t.dims.map(n);
  const count = shape.reduce((a, b) => a * b, 1);
  const raw = t.rawData && t.rawData.length ? t.rawData : undefined;
  const bytes = raw ? raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength) : undefined;
  switch (t.dataType) {
    case 1: return { dtype: 'float32', shape, data: bytes ? new Float32Array(bytes) : Float32Array.from(t.floatData) };
    case 2: return { dtype: 'uint8', shape, data: bytes ? new Uint8Array(bytes) : Uint8Array.from(t.int32Data) };
    case 3: return { dtype: 'int8', shape, data: bytes ? new Int8Array(bytes) : Int8Array.from(t.int32Data) };
    case 6: return { dtype: 'int32', shape, data: bytes ? new Int32Array(bytes) : Int32Array.from(t.int32Data) };
    case 7: return { dtype: 'int64', shape, data: bytes ? new BigInt64Array(bytes) : BigInt64Array.from(t.int64Data.map((v) => BigInt(n(v)))) };
    default: throw new Error(`dataType ${t.dataType} (${count} elements)`);
  }
}

function load(name: string) {
  const dir = `${ROOT}/${name}`;
  const model = onnx.ModelProto.decode(readFileSync(`${dir}/model.onnx`));
  const node = model.graph.node[0];
  const attrs: Record<string, number | number[] | string> = {};
  for (const a of node.attribute) {
    if (a.ints.length) attrs[a.name] = a.ints.map(n);
    else if (a.floats.length) attrs[a.name] = a.floats;
    else if (a.s && a.s.length) attrs[a.name] = Buffer.from(a.s).toString();
    else if (a.f) attrs[a.name] = a.f;
    else attrs[a.name] = n(a.i);
  }
  const read = (prefix: string) => {
    const out: Tensor[] = [];
    for (let i = 0; existsSync(`${dir}/test_data_set_0/${prefix}_${i}.pb`); i++) out.push(tensor(onnx.TensorProto.decode(readFileSync(`${dir}/test_data_set_0/${prefix}_${i}.pb`))));
    return out;
  };
  return { op: node.opType, attrs, inputs: read('input'), outputs: read('output') };
}

const available = existsSync(ROOT);
const scalar = (t: Tensor) => Number(t.data[0]);

/** OIHW (ONNX Conv) -> OHWI. */
function oihwToOhwi(w: Tensor): Tensor {
  const [o, i, h, wd] = w.shape;
  const Ctor = w.data.constructor as new (n: number) => PlanTypedArray;
  const out = new Ctor(w.data.length);
  for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) for (let c = 0; c < h; c++) for (let d = 0; d < wd; d++) out[((a * h + c) * wd + d) * i + b] = w.data[((a * i + b) * h + c) * wd + d];
  return { dtype: w.dtype, shape: [o, h, wd, i], data: out };
}

/** [Cin, Cout/g, KH, KW] (ONNX ConvTranspose, group 1) -> OHWI [Cout, KH, KW, Cin]. */
function iohwToOhwi(w: Tensor): Tensor {
  const [i, o, h, wd] = w.shape;
  const out = new Float32Array(w.data.length);
  for (let a = 0; a < i; a++) for (let b = 0; b < o; b++) for (let c = 0; c < h; c++) for (let d = 0; d < wd; d++) out[((b * h + c) * wd + d) * i + a] = (w.data as Float32Array)[((a * o + b) * h + c) * wd + d];
  return { dtype: 'float32', shape: [o, h, wd, i], data: out };
}

const nhwc = (s: number[]) => [s[0], s[2], s[3], s[1]];

/** A 4-D NCHW op: Transpose in, the op in NHWC, Transpose out. `consts` are appended after the data input. */
function nchwPlan(op: PlanOp, x: Tensor, y: Tensor, attrs: Record<string, PlanAttr>, consts: Tensor[] = [], q?: { x?: PlanQuant; y?: PlanQuant; w?: PlanQuant }, backend?: PlanBackend) {
  const b = new PlanBuilder();
  const xi = b.input('x', x.dtype, x.shape, q?.x);
  const xt = b.value('x_nhwc', x.dtype, nhwc(x.shape), q?.x);
  const cs = consts.map((c, i) => b.constant(`c${i}`, c.dtype, c.shape, c.data, i === 0 ? q?.w : undefined));
  const yt = b.value('y_nhwc', y.dtype, nhwc(y.shape), q?.y);
  const yo = b.value('y', y.dtype, y.shape, q?.y);
  b.node('Transpose', [xi], [xt], { perm: [0, 2, 3, 1] })
    .node(op, [xt, ...cs], [yt], attrs, backend)
    .node('Transpose', [yt], [yo], { perm: [0, 3, 1, 2] })
    .output(yo);
  return b.build();
}

/** ONNX 2-D window attributes -> plan attributes (pads order is the same: [top, left, bottom, right]). */
function windowAttrs(a: Record<string, number | number[] | string>, keep: string[] = []): Record<string, PlanAttr> {
  const out: Record<string, PlanAttr> = {};
  if (a.strides) out.strides = a.strides;
  if (a.pads) out.pads = a.pads;
  if (a.dilations) out.dilations = a.dilations;
  if (a.group) out.group = a.group;
  for (const k of keep) if (a[k] !== undefined) out[k === 'kernel_shape' ? 'kernelShape' : k === 'count_include_pad' ? 'countIncludePad' : k] = a[k];
  return out;
}

describe.runIf(available)('ONNX conformance data', () => {
  for (const name of ['test_conv_with_strides_padding', 'test_conv_with_strides_no_padding', 'test_conv_with_strides_and_asymmetric_padding', 'test_basic_conv_with_padding']) {
    it(`${name} (Conv float32)`, () => {
      const c = load(name);
      const plan = nchwPlan('Conv', c.inputs[0], c.outputs[0], windowAttrs(c.attrs), [oihwToOhwi(c.inputs[1])]);
      const [y] = createPlan(plan).runSync([c.inputs[0].data]);
      expectClose(y as Float32Array, c.outputs[0].data as Float32Array, 1e-5, 1e-5);
    });
  }

  for (const name of ['test_convtranspose', 'test_convtranspose_pads', 'test_convtranspose_dilations']) {
    it(`${name} (ConvTranspose float32)`, () => {
      const c = load(name);
      const attrs = windowAttrs(c.attrs);
      if (c.attrs.output_padding) attrs.outputPadding = c.attrs.output_padding;
      const plan = nchwPlan('ConvTranspose', c.inputs[0], c.outputs[0], attrs, [iohwToOhwi(c.inputs[1])]);
      const [y] = createPlan(plan).runSync([c.inputs[0].data]);
      expectClose(y as Float32Array, c.outputs[0].data as Float32Array, 1e-5, 1e-5);
    });
  }

  for (const name of ['test_maxpool_2d_pads', 'test_maxpool_2d_strides', 'test_maxpool_2d_dilations', 'test_maxpool_2d_precomputed_pads', 'test_averagepool_2d_pads', 'test_averagepool_2d_pads_count_include_pad', 'test_averagepool_2d_strides', 'test_averagepool_2d_precomputed_pads']) {
    it(`${name}`, () => {
      const c = load(name);
      const op = c.op as 'MaxPool';
      const plan = nchwPlan(op, c.inputs[0], c.outputs[0], windowAttrs(c.attrs, ['kernel_shape', 'count_include_pad']));
      const [y] = createPlan(plan).runSync([c.inputs[0].data]);
      expectClose(y as Float32Array, c.outputs[0].data as Float32Array, 1e-5, 1e-6);
    });
  }

  it('test_maxpool_2d_uint8', () => {
    const c = load('test_maxpool_2d_uint8');
    const q = quant(1, 0);
    const plan = nchwPlan('MaxPool', c.inputs[0], c.outputs[0], windowAttrs(c.attrs, ['kernel_shape']), [], { x: q, y: q });
    const [y] = createPlan(plan).runSync([c.inputs[0].data]);
    expect(Array.from(y as Uint8Array)).toEqual(Array.from(c.outputs[0].data as Uint8Array));
  });

  it('test_globalaveragepool', () => {
    const c = load('test_globalaveragepool');
    const plan = nchwPlan('GlobalAveragePool', c.inputs[0], c.outputs[0], {});
    const [y] = createPlan(plan).runSync([c.inputs[0].data]);
    expectClose(y as Float32Array, c.outputs[0].data as Float32Array, 1e-5, 1e-6);
  });

  // oneDNN takes int8 plans only where it has an int8 dot product (VNNI/AMX); ops-int8.test.ts checks the refusal.
  for (const backend of onednnHasInt8Dot() ? ([undefined, 'onednn'] as const) : ([undefined] as const)) {
    it(`test_qlinearconv (uint8 activations, uint8 weights with a zero point) on ${backend ?? 'xnnpack'}`, () => {
      const c = load('test_qlinearconv');
      const [x, xs, xz, w, ws, wz, ys, yz] = c.inputs;
      // (w - w_zp) * w_scale as symmetric int8: divide by the gcd of the offsets so they fit in [-127, 127].
      const offsets = Array.from(w.data as Uint8Array, (v) => v - scalar(wz));
      const gcd = (a: number, b: number): number => (b === 0 ? Math.abs(a) : gcd(b, a % b));
      const g = offsets.reduce(gcd, 0) || 1;
      const wq = { dtype: 'int8' as const, shape: w.shape, data: Int8Array.from(offsets, (v) => v / g) };
      expect(Math.max(...Array.from(wq.data, Math.abs))).toBeLessThanOrEqual(127);
      const plan = nchwPlan('Conv', x, c.outputs[0], {}, [oihwToOhwi(wq)], { x: quant(scalar(xs), scalar(xz)), y: quant(scalar(ys), scalar(yz)), w: quant(scalar(ws) * g, 0, 0) }, backend);
      const [y] = createPlan(plan).runSync([x.data]);
      expectQuantClose(y as Uint8Array, c.outputs[0].data as Uint8Array, 0.05);
    });
  }

  it('test_qlinearmatmul_2D (uint8 A and B with zero points)', () => {
    const c = load('test_qlinearmatmul_2D');
    const [a, as, az, bm, bs, bz, ys, yz] = c.inputs;
    const b = new PlanBuilder();
    const ai = b.input('a', 'uint8', a.shape, quant(scalar(as), scalar(az)));
    const bi = b.constant('b', 'uint8', bm.shape, bm.data, quant(scalar(bs), scalar(bz)));
    const y = b.value('y', 'uint8', c.outputs[0].shape, quant(scalar(ys), scalar(yz)));
    b.node('MatMul', [ai, bi], [y]).output(y);
    const [got] = createPlan(b.build()).runSync([a.data]);
    expectQuantClose(got as Uint8Array, c.outputs[0].data as Uint8Array, 0.2);
  });

  it('test_matmulinteger', () => {
    const c = load('test_matmulinteger');
    const [a, bm, az, bz] = c.inputs;
    const b = new PlanBuilder();
    const ai = b.input('a', a.dtype, a.shape);
    const bi = b.input('b', bm.dtype, bm.shape);
    const azi = b.constant('a_zp', az.dtype, az.shape, az.data);
    const bzi = b.constant('b_zp', bz.dtype, bz.shape, bz.data);
    const y = b.value('y', 'int32', c.outputs[0].shape);
    b.node('MatMulInteger', [ai, bi, azi, bzi], [y]).output(y);
    const [got] = createPlan(b.build()).runSync([a.data, bm.data]);
    expect(Array.from(got as Int32Array)).toEqual(Array.from(c.outputs[0].data as Int32Array));
  });

  for (const name of ['test_quantizelinear', 'test_dequantizelinear', 'test_dequantizelinear_axis']) {
    it(`${name}`, () => {
      const c = load(name);
      const [x, s, z] = c.inputs;
      const out = c.outputs[0];
      const axis = s.data.length > 1 ? ((c.attrs.axis as number | undefined) ?? 1) : undefined;
      const q = quant(Array.from(s.data as Float32Array), Array.from(z.data as Uint8Array), axis);
      const b = new PlanBuilder();
      const xi = b.input('x', x.dtype, x.shape, c.op === 'DequantizeLinear' ? q : undefined);
      const y = b.value('y', out.dtype, out.shape, c.op === 'QuantizeLinear' ? q : undefined);
      b.node(c.op as 'QuantizeLinear', [xi], [y]).output(y);
      const [got] = createPlan(b.build()).runSync([x.data]);
      expect(Array.from(got as Float32Array)).toEqual(Array.from(out.data as Float32Array));
    });
  }

  for (const name of ['test_dynamicquantizelinear', 'test_dynamicquantizelinear_max_adjusted', 'test_dynamicquantizelinear_min_adjusted']) {
    it(`${name}`, () => {
      const c = load(name);
      const [x] = c.inputs;
      const b = new PlanBuilder();
      const xi = b.input('x', 'float32', x.shape);
      const y = b.value('y', 'uint8', x.shape);
      const ys = b.value('y_scale', 'float32', []);
      const yz = b.value('y_zero_point', 'uint8', []);
      b.node('DynamicQuantizeLinear', [xi], [y, ys, yz]).output(y).output(ys).output(yz);
      const got = createPlan(b.build()).runSync([x.data]);
      expect(Array.from(got[0] as Uint8Array)).toEqual(Array.from(c.outputs[0].data as Uint8Array));
      expect((got[1] as Float32Array)[0]).toBe((c.outputs[1].data as Float32Array)[0]);
      expect((got[2] as Uint8Array)[0]).toBe((c.outputs[2].data as Uint8Array)[0]);
    });
  }

  for (const name of ['test_softmax_axis_0', 'test_softmax_axis_1', 'test_softmax_axis_2', 'test_softmax_default_axis', 'test_softmax_large_number', 'test_logsoftmax_axis_1']) {
    it(`${name}`, () => {
      const c = load(name);
      const [x] = c.inputs;
      const [got] = createPlan({
        values: [{ name: 'x', dtype: 'float32', shape: x.shape }, { name: 'y', dtype: 'float32', shape: x.shape }],
        nodes: [{ name: 'n', op: c.op as 'Softmax', inputs: [0], outputs: [1], attrs: c.attrs.axis === undefined ? {} : { axis: c.attrs.axis } }],
        inputs: [0],
        outputs: [1],
      }).runSync([x.data]);
      expectClose(got as Float32Array, c.outputs[0].data as Float32Array, 1e-5, 1e-6);
    });
  }

  for (const name of ['test_resize_upsample_scales_linear', 'test_resize_upsample_scales_nearest', 'test_resize_downsample_scales_nearest', 'test_resize_downsample_scales_linear', 'test_resize_upsample_scales_linear_align_corners', 'test_resize_downsample_sizes_linear_pytorch_half_pixel', 'test_resize_upsample_sizes_nearest_floor_align_corners', 'test_resize_upsample_sizes_nearest_round_prefer_ceil_asymmetric']) {
    it(`${name} (NCHW with C = 1 is NHWC)`, () => {
      const c = load(name);
      const x = c.inputs[0];
      const y = c.outputs[0];
      expect(x.shape[1]).toBe(1);
      const attrs: Record<string, PlanAttr> = { mode: c.attrs.mode as string, coordinateTransformationMode: (c.attrs.coordinate_transformation_mode as string) ?? 'half_pixel' };
      if (c.attrs.nearest_mode) attrs.nearestMode = c.attrs.nearest_mode;
      const scales = c.inputs.find((t, i) => i > 0 && t.dtype === 'float32' && t.data.length === 4);
      if (scales) attrs.scales = [scales.data[2] as number, scales.data[3] as number];
      const [got] = createPlan({
        values: [{ name: 'x', dtype: 'float32', shape: nhwc(x.shape) }, { name: 'y', dtype: 'float32', shape: nhwc(y.shape) }],
        nodes: [{ name: 'n', op: 'Resize', inputs: [0], outputs: [1], attrs }],
        inputs: [0],
        outputs: [1],
      }).runSync([x.data]);
      expectClose(got as Float32Array, y.data as Float32Array, 1e-5, 1e-5);
    });
  }

  const unary = ['test_relu', 'test_sigmoid', 'test_erf', 'test_hardswish', 'test_hardsigmoid', 'test_hardsigmoid_example', 'test_leakyrelu', 'test_clip_default_min'];
  for (const name of unary) {
    it(`${name}`, () => {
      const c = load(name);
      const x = c.inputs[0];
      const attrs: Record<string, PlanAttr> = { ...c.attrs } as Record<string, PlanAttr>;
      if (c.op === 'Clip') {
        // Clip-13 takes min/max as inputs.
        if (c.inputs[1]?.data.length) attrs.min = scalar(c.inputs[1]);
        if (c.inputs[2]?.data.length) attrs.max = scalar(c.inputs[2]);
      }
      const [got] = createPlan({
        values: [{ name: 'x', dtype: 'float32', shape: x.shape }, { name: 'y', dtype: 'float32', shape: x.shape }],
        nodes: [{ name: 'n', op: c.op as 'Relu', inputs: [0], outputs: [1], attrs }],
        inputs: [0],
        outputs: [1],
      }).runSync([x.data]);
      expectClose(got as Float32Array, c.outputs[0].data as Float32Array, 1e-5, 1e-6);
    });
  }

  for (const name of ['test_transpose_all_permutations_3', 'test_concat_3d_axis_negative_2', 'test_gather_0', 'test_gather_negative_indices', 'test_slice_neg_steps', 'test_split_variable_parts_2d', 'test_constant_pad', 'test_reduce_mean_keepdims_random', 'test_matmul_4d', 'test_add_bcast', 'test_reduce_mean_do_not_keepdims_random']) {
    it(`${name}`, () => {
      const c = load(name);
      const b = new PlanBuilder();
      const attrs: Record<string, PlanAttr> = {};
      const ins: number[] = [];
      const feeds: PlanTypedArray[] = [];
      c.inputs.forEach((t, i) => {
        // Inputs that ONNX passes as tensors (Slice starts, Pad pads, ReduceMean axes...) become attributes.
        if (c.op === 'Slice' && i > 0) attrs[['', 'starts', 'ends', 'axes', 'steps'][i]] = Array.from(t.data as BigInt64Array, Number);
        else if (c.op === 'Pad' && i === 1) attrs.pads = Array.from(t.data as BigInt64Array, Number);
        else if (c.op === 'Pad' && i === 2) attrs.value = scalar(t);
        else if (c.op === 'Split' && i === 1) return;
        else {
          ins.push(b.input(`x${i}`, t.dtype, t.shape));
          feeds.push(t.data);
        }
      });
      for (const [k, v] of Object.entries(c.attrs)) if (k !== 'split' && k !== 'mode') attrs[k] = v;
      const outs = c.outputs.map((t, i) => b.value(`y${i}`, t.dtype, t.shape));
      b.node(c.op as 'Add', ins, outs, attrs);
      outs.forEach((o) => b.output(o));
      const got = createPlan(b.build()).runSync(feeds);
      got.forEach((g, i) => expectClose(g as Float32Array, c.outputs[i].data as Float32Array, 1e-5, 1e-6));
    });
  }
});
