"""The Hub side of the pipeline: a local Hub-compatible server (``hf-pipeline hub serve``).

The server speaks the subset of the Hugging Face Hub HTTP API that the real
``huggingface_hub`` and ``datasets`` clients call, so publishing and pulling work the same
against huggingface.co and against a machine that reaches no Hub.
"""
