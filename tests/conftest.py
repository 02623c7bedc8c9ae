"""Shared fixtures live in tests/fixtures/, one module per kind of thing they build."""

import signal

pytest_plugins = [
    "fixtures.tiny_model",
    "fixtures.hub_server",
    "fixtures.tiny_release",
    "fixtures.tiny_export",
    "fixtures.tiny_eval_data",
    "fixtures.model_release",
]

# Tests stop the apps and runs they start with Ctrl-C (SIGINT), as a person would. A test
# session started in the background by a non-interactive shell inherits SIGINT *ignored*,
# and an ignored signal stays ignored across exec: the apps would never see the Ctrl-C.
# Handled (not ignored) here, it is reset to the default in every child at exec.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
