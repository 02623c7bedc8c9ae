"""A Hub-compatible HTTP server on the standard library, for tests and air-gapped machines.

``HubServer(HubServerConfig(...)).start()`` returns its URL; point ``HfApi(endpoint=url)``
(or ``HF_ENDPOINT``) at it. Modules: ``storage`` (repos, refs, commits, objects on disk),
``api_repos`` / ``api_files`` (the handlers), ``transport`` (HTTP plumbing and its limits),
``connections`` (open connections and request slots: idle ones never keep a request out),
``body`` (bounded request bodies, read timeouts), ``fields`` (typed JSON fields: 400s, not
500s), ``paths`` (file paths and ref names clients may use), ``lru`` (the bounded caches),
``history`` (what history walks read: one small record per commit), ``card`` (README
metadata checks), ``objects`` (commits, file entries, git ids), ``app`` (config and
lifecycle).
"""

from hf_pipeline.hub.server.app import HubServer, HubServerConfig, serve

__all__ = ["HubServer", "HubServerConfig", "serve"]
