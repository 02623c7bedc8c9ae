"""The sqry-nl model folder (../shared/docs/artifact-contract.md): its only owner.

Format modules (no heavy dependencies; the runtime reads folders through them):
  layout       the file names and the sidecar reports folder
  manifest     manifest.json: today's sqry-nl loader's six-field record, the archive's name
  checksums    verify a folder as today's sqry-nl does (manifest anchor, then every listed
               file), write checksums.json and manifest.json
  archive      sqry's installable archive of a folder; installing and trusting one as sqry does
  temperature  read and write temperature.json
  folder       version.txt, config.json, ReleaseInfo, and atomic updates of a whole folder
  int8         is the graph quantized (onnx, imported lazily)
Stage modules (above export in the layers):
  assemble     build the folder from an export folder (``hf-pipeline release``)
"""
