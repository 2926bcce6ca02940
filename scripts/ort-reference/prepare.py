#!/usr/bin/env python3
"""Model preparation for onnxruntime's quantizer, run inside the ort-reference chroot by scripts/ort-reference.sh.

  prepare.py upgrade IN OUT [NAME=D0xD1x...]   onnx.version_converter to opset 13 when the model is older (the
                                               quantizer writes per-channel DequantizeLinear with `axis`, which
                                               needs opset 13; it "updates" opset < 11 models by changing the
                                               opset number only), and fix symbolic input dims (its symbolic shape
                                               inference gives up on PP-OCR det otherwise)
  prepare.py export-bench OUTDIR               torchvision ResNet-18/50, MobileNetV2, MobileNetV3-Large (random
                                               weights, 1x3x224x224 with a symbolic batch dim) and a 4-layer
                                               TransformerEncoder (seq 128, hidden 256), opset 17
                                               and 14 (LayerNormalization spelled out)
  prepare.py ops MODEL...                      operator histogram (subgraphs included) and opsets
  prepare.py crops INDIR OUTDIR                held-out images for scripts/ort-reference/cls-heldout.ts, as PNG:
                                               each of page, motorcycle_left, china, flower, grace_hopper and
                                               rocket whole, in horizontal strips (page: eighths and quarters;
                                               the others: quarters, left/right halves, the centre), each as is
                                               and turned 180° (106 images; octet does not decode JPEG)
"""
import os
import sys


def _quiet_onnx():
    # Debian's onnx and onnxruntime share a schema registry and print duplicate-registration lines on import.
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import onnx  # noqa: F401
        import onnx.reference  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


_quiet_onnx()
import onnx  # noqa: E402
from onnx import version_converter  # noqa: E402


def upgrade(src, dst, shapes):
    m = onnx.load(src)
    before = max(o.version for o in m.opset_import if o.domain in ("", "ai.onnx"))
    if before < 13:
        m = version_converter.convert_version(m, 13)
    for spec in shapes:
        name, _, dims = spec.partition("=")
        inputs = [i for i in m.graph.input if i.name == name]
        if not inputs:
            sys.exit(f"prepare.py: no input '{name}' in {src}")
        for d, v in zip(inputs[0].type.tensor_type.shape.dim, dims.split("x")):
            d.ClearField("dim_param")
            d.dim_value = int(v)
    onnx.checker.check_model(m)
    onnx.save(m, dst)
    print(f"{src}: opset {before} -> {max(o.version for o in m.opset_import if o.domain in ('', 'ai.onnx'))}, {dst}")


def ops(paths):
    from collections import Counter

    def walk(g, c):
        for n in g.node:
            c[(n.domain + "::" if n.domain else "") + n.op_type] += 1
            for a in n.attribute:
                if a.type == onnx.AttributeProto.GRAPH:
                    walk(a.g, c)
                for sg in a.graphs:
                    walk(sg, c)

    for p in paths:
        m = onnx.load(p, load_external_data=False)
        c = Counter()
        walk(m.graph, c)
        opsets = ", ".join(f"{o.domain or 'ai.onnx'} {o.version}" for o in m.opset_import)
        print(f"{p} ({os.path.getsize(p)} B; {opsets}): " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())))


def export_bench(outdir, only):
    import torch
    import torchvision

    torch.manual_seed(0)
    os.makedirs(outdir, exist_ok=True)
    vision = {
        "resnet18": torchvision.models.resnet18,
        "resnet50": torchvision.models.resnet50,
        "mobilenet_v2": torchvision.models.mobilenet_v2,
        "mobilenet_v3_large": torchvision.models.mobilenet_v3_large,
    }
    for name, ctor in vision.items():
        if only and name not in only:
            continue
        model = ctor(weights=None).eval()
        x = torch.randn(1, 3, 224, 224)
        path = os.path.join(outdir, f"{name}.onnx")
        torch.onnx.export(
            model, (x,), path, opset_version=17, input_names=["input"], output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False,
        )
        print(f"{path}: {os.path.getsize(path)} B")

    if only and "transformer_encoder" not in only:
        return
    # The fused inference fast path (aten::_transformer_encoder_layer_fwd) has no ONNX export: spell it out.
    torch.backends.mha.set_fastpath_enabled(False)
    layer = torch.nn.TransformerEncoderLayer(d_model=256, nhead=4, dim_feedforward=1024, dropout=0.0, batch_first=True)
    encoder = torch.nn.TransformerEncoder(layer, num_layers=4, enable_nested_tensor=False).eval()
    x = torch.randn(1, 128, 256)
    # opset 17 has LayerNormalization as one op; at opset 14 the exporter spells it out (ReduceMean, Sub, Pow, ...).
    for name, opset in (("transformer_encoder", 17), ("transformer_encoder_op14", 14)):
        path = os.path.join(outdir, f"{name}.onnx")
        with torch.no_grad():
            torch.onnx.export(
                encoder, (x,), path, opset_version=opset, input_names=["input"], output_names=["hidden"],
                dynamic_axes={"input": {0: "batch"}, "hidden": {0: "batch"}}, dynamo=False,
            )
        print(f"{path}: {os.path.getsize(path)} B")


def crops(indir, outdir):
    from PIL import Image

    os.makedirs(outdir, exist_ok=True)
    n = 0
    for name in ["page.png", "motorcycle_left.png", "china.jpg", "flower.jpg", "grace_hopper.jpg", "rocket.jpg"]:
        image = Image.open(os.path.join(indir, name)).convert("RGB")
        w, h = image.size
        stem = name.split(".")[0]
        boxes = {"full": (0, 0, w, h)}
        if stem == "page":
            boxes.update({f"s{i}": (0, i * h // 8, w, (i + 1) * h // 8) for i in range(8)})
            boxes.update({f"h{i}": (0, i * h // 4, w, (i + 1) * h // 4) for i in range(4)})
        else:
            boxes.update({f"b{i}": (0, i * h // 4, w, (i + 1) * h // 4) for i in range(4)})
            boxes.update({"c": (w // 4, h // 4, 3 * w // 4, 3 * h // 4), "l": (0, 0, w // 2, h), "r": (w // 2, 0, w, h)})
        for key, box in boxes.items():
            for turn in (0, 180):
                image.crop(box).rotate(turn).save(os.path.join(outdir, f"{stem}_{key}_{turn}.png"))
                n += 1
    print(f"{outdir}: {n} images")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "upgrade" and len(args) >= 2:
        upgrade(args[0], args[1], args[2:])
    elif cmd == "export-bench":
        export_bench(args[0], args[1:])
    elif cmd == "ops":
        ops(args)
    elif cmd == "crops" and len(args) == 2:
        crops(args[0], args[1])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
