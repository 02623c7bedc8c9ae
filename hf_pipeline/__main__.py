import sys

from hf_pipeline.cli import main

sys.exit(main())
