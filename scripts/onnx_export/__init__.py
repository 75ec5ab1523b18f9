"""scripts/export_onnx.py's parts: graphs (torch wrappers over scripts/reference in the published
signatures), export (tracing, dynamic axes, saving), convert (float64 -> fp32/fp16), quantize
(int8 MatMulInteger, q4 MatMulNBits), check (comparison with the reference), runner (drives the
vlmrt_onnx_check executable)."""
