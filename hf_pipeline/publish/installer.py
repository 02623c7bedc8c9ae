"""Download a published archive the way sqry's installer does, and check what arrives.

sqry's installer makes a plain HTTPS GET of ``download_url`` (redirects followed, no Hub client,
no token), streams it through SHA-256, compares with the manifest compiled into sqry, and
extracts the gzip tar (``hf_pipeline.model_folder.archive``). The same steps here, with the standard
library's HTTP client, against the manifest published beside the archive.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

TIMEOUT_S = 120
USER_AGENT = "hf-pipeline (checking a download as sqry's installer makes it)"


def fetch(url: str, dest: Path, *, token: str | None = None) -> None:
    """GET ``url`` into ``dest``, following redirects. The token, when given, goes to the
    first host only (never to a host a redirect names) and is never logged."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if token:
        request.add_unredirected_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response, \
            dest.open("wb") as out:
        shutil.copyfileobj(response, out, 1 << 20)


def installer_problems(url: str, expected: Mapping[str, Any], *, token: str | None = None
                       ) -> list[str]:
    """Everything that would stop sqry installing ``url`` with ``expected`` compiled in
    (empty: it installs and loads). Tried without a token first, as the installer does; a
    private repo is then fetched with ``token`` to check the bytes, with a warning that
    sqry's installer itself cannot download it."""
    from hf_pipeline.model_folder.archive import archive_problems

    with tempfile.TemporaryDirectory(prefix="hf-pipeline-install-") as tmp:
        archive = Path(tmp) / str(expected.get("archive") or "archive.tar.gz")
        try:
            fetch(url, archive)
        except urllib.error.HTTPError as e:
            if e.code not in (401, 403, 404) or not token:
                return [f"download_url {url}: HTTP {e.code} {e.reason}"]
            log.warning("%s answers HTTP %d without a token: the repo is private, and sqry's "
                        "installer (which sends none) cannot download it; make the repo public "
                        "for sqry users. Checking the bytes with the token.", url, e.code)
            try:
                fetch(url, archive, token=token)
            except urllib.error.HTTPError as again:
                return [f"download_url {url}: HTTP {again.code} {again.reason}, also with the "
                        "token"]
        except (urllib.error.URLError, OSError) as e:
            return [f"download_url {url}: not reachable ({getattr(e, 'reason', e)})"]
        return archive_problems(archive, expected, Path(tmp) / "installed")
