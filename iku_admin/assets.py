"""Static files: a content hash in every URL, cached by browsers for good, compressed once.

Every static route (ours, ``static``, and Flask-Admin's, ``admin.static``) is served by
WhiteNoise in front of the app with ``Cache-Control: public, max-age=31536000, immutable``.
That is safe because ``url_for`` adds the file's content hash as ``v``: a changed file gets a
new URL, and a URL naming other content than the file's is answered ``no-cache``. Text files
are compressed (Brotli and gzip, WhiteNoise's own settings) once, into
``instance/static-cache/<hash>-<name>/``: a restart, another worker or the next release with
the same file reuses them, and WhiteNoise serves the variant the browser accepts.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from fnmatch import fnmatch
from pathlib import Path

from flask import Flask
from whitenoise import WhiteNoise
from whitenoise.compress import Compressor

CACHE_CONTROL = "public, max-age=31536000, immutable"
COMPRESSED = (".css", ".js", ".svg", ".json")
# Folders of Flask-Admin's static files that no page of its Bootstrap 4 theme references:
# Font Awesome 5 (1,300 icons; the theme uses Font Awesome 4.7) and the Bootswatch themes
# (the default swatch is Bootstrap's own stylesheet). Left to Flask's own static route.
UNUSED = ("vendor/fontawesome-free-*", "bootstrap/bootstrap4/swatch/*")

HASH = re.compile(r"(?:^|&)v=([0-9a-f]{16})(?:&|$)")

_digests: dict[tuple[str, int, int], str] = {}  # (path, size, mtime) -> hash, per process


def init_app(app: Flask) -> None:
    """Serve every static route through WhiteNoise and version its URLs by content."""
    cache = Path(app.instance_path) / "static-cache"
    static = WhiteNoise(app.wsgi_app, allow_all_origins=False, add_headers_function=_headers)
    versions: dict[str, dict[str, str]] = {}
    by_url: dict[str, str] = {}
    for endpoint, prefix, folder in static_routes(app):
        versions[endpoint] = files = {}
        for path in sorted(Path(folder).rglob("*")):
            name = path.relative_to(folder).as_posix()
            if not path.is_file() or any(fnmatch(name, pattern) for pattern in UNUSED):
                continue
            files[name] = by_url[prefix + name] = digest = _digest(path)
            if path.suffix in COMPRESSED:
                # WhiteNoise serves the .br and .gz it finds beside a file: a compressed copy.
                path = _compressed(path, digest, cache)
            static.add_file_to_dictionary(prefix + name, str(path))
    app.wsgi_app = _refuse_other_versions(static, by_url)

    @app.url_defaults
    def add_version(endpoint: str, values: dict) -> None:
        digest = versions.get(endpoint, {}).get(values.get("filename"))
        if digest:
            values["v"] = digest  # replaces Flask-Admin's library version


def static_routes(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, URL prefix, folder) of every static route: the app's and its blueprints'."""
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            owner = app.blueprints.get(rule.endpoint.rpartition(".")[0], app)
            routes.append((rule.endpoint, rule.rule.partition("<")[0], owner.static_folder))
    return routes


def _refuse_other_versions(static: WhiteNoise, by_url: dict[str, str]):
    """A URL naming another content hash than the file's (a host still on the previous release,
    asked for the next one's file) is answered with the file, but not to be cached."""

    def serve(environ, start_response):
        asked = HASH.search(environ.get("QUERY_STRING", ""))
        if asked and by_url.get(environ.get("PATH_INFO")) not in (None, asked.group(1)):

            def no_cache(status, headers, exc_info=None):
                headers = [(k, v) for k, v in headers if k.lower() != "cache-control"]
                return start_response(status, [*headers, ("Cache-Control", "no-cache")], exc_info)

            return static(environ, no_cache)
        return static(environ, start_response)

    return serve


def _headers(headers, path: str, url: str) -> None:
    headers["Cache-Control"] = CACHE_CONTROL
    headers["X-Content-Type-Options"] = "nosniff"


def _digest(path: Path) -> str:
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _digests:
        with path.open("rb") as file:
            _digests[key] = hashlib.file_digest(file, "sha256").hexdigest()[:16]
    return _digests[key]


def _compressed(path: Path, digest: str, cache: Path) -> Path:
    """A copy of ``path`` with its .br and .gz beside it, made once per content."""
    target = cache / f"{digest}-{path.name}"
    if not target.is_dir():
        cache.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(dir=cache, prefix=".new-"))
        shutil.copyfile(path, work / path.name)
        Compressor(quiet=True).compress(str(work / path.name))
        try:
            os.rename(work, target)  # atomic: another process may have made it meanwhile
        except OSError:
            shutil.rmtree(work)
    return target / path.name
