import sys

from hf_pipeline.cli import entry

sys.exit(entry())
