#!/usr/bin/env python3
"""onnxruntime's quantize_static with 16-bit activations (A16W8), run inside the ort-reference chroot by
scripts/ort-reference.sh --a16w8 (the chroot's ort_quantize.py takes 8-bit types only).

  quantize16.py IN OUT CALIB_DIR

QDQ, uint16 activations, int8 symmetric per-channel weights, MinMax over the .npy files of CALIB_DIR (one sample
each, for the model's first input), quant_pre_process first. The models are at opset 13, so the 16-bit
QuantizeLinear/DequantizeLinear are onnxruntime's com.microsoft ones (UseQDQContribOps).
"""
import glob
import os
import sys

# Debian's onnx and onnxruntime share a schema registry: onnx.reference must be imported first.
import onnx  # noqa: E402
import onnx.reference  # noqa: F401,E402
import numpy as np  # noqa: E402
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static  # noqa: E402
from onnxruntime.quantization.shape_inference import quant_pre_process  # noqa: E402


class Folder(CalibrationDataReader):
    def __init__(self, folder, name):
        self.files = sorted(glob.glob(os.path.join(folder, "*.npy")))
        self.name = name
        if not self.files:
            sys.exit(f"quantize16: no .npy files in {folder}")

    def get_next(self):
        return {self.name: np.load(self.files.pop(0))} if self.files else None


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    src, out, calib = sys.argv[1:]
    pre = out + ".pre.onnx"
    quant_pre_process(src, pre)
    name = onnx.load(pre, load_external_data=False).graph.input[0].name
    quantize_static(pre, out, Folder(calib, name), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt16, weight_type=QuantType.QInt8,
                    extra_options={"UseQDQContribOps": True})
    os.remove(pre)
    print(f"quantize16: {out}")


if __name__ == "__main__":
    main()
