"""Shared fixtures live in tests/fixtures/, one module per kind of thing they build."""

pytest_plugins = [
    "fixtures.tiny_model",
    "fixtures.hub_server",
    "fixtures.tiny_release",
    "fixtures.tiny_export",
    "fixtures.tiny_eval_data",
    "fixtures.model_release",
]
