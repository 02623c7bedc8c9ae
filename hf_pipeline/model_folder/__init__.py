"""The sqry-nl model folder (../shared/docs/artifact-contract.md): its only owner.

Format modules (no heavy dependencies; the runtime reads folders through them):
  layout       the file names and the sidecar reports folder
  manifest     manifest.json: today's sqry-nl loader's six-field record, the archive's name
  checksums    verify a folder as today's sqry-nl does (manifest anchor, then every listed
               file)
  archive      sqry's installable archive of a folder; installing and trusting one as sqry does
  temperature  read temperature.json, and the document calibration writes
  folder       version.txt and config.json: what they hold, ReleaseInfo
  int8         is the graph quantized (onnx, imported lazily)
Writing (the stages that write a folder; never imported by the runtime):
  update       write checksums.json and manifest.json; atomic updates of a whole folder
The release stage that assembles a folder from an export is ``hf_pipeline.release``.
"""
