"""hf_pipeline: the sqry-nl intent classifier, from templates to a Hub release.

Stages (one subpackage each): ``generate`` -> ``verify`` -> ``hub`` (publish) -> ``train``
-> ``export`` -> ``calibrate`` -> ``runtime``.
"""

__version__ = "0.1.0"
