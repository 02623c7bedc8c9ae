"""Export stage: PyTorch -> ONNX (parity-checked) -> INT8 (accuracy-gated) -> model folder.

Heavy libraries (torch, onnx, onnxruntime) are imported inside the functions that need them,
so importing this package (and ``hf-pipeline --help``) stays instant.
"""
