"""The sqry-nl model folder (../shared/docs/artifact-contract.md): its only owner.

Format modules (no heavy dependencies; the runtime reads folders through them):
  layout       the file names and the sidecar reports folder
  checksums    verify a folder (checksums first), write manifest.json and checksums.json
  temperature  read and write temperature.json
  folder       version.txt, config.json, ReleaseInfo, and atomic updates of a whole folder
  int8         is the graph quantized (onnx, imported lazily)
Stage modules (above export in the layers):
  assemble     build the folder from an export folder (``hf-pipeline release``)
"""
