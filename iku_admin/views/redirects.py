"""Where a request may send the browser next: a path on this site, nothing else."""

from __future__ import annotations

import re

from flask import request
from werkzeug.datastructures import ImmutableMultiDict

# One slash, then printable ASCII other than a backslash. Browsers take "//host", "/\host",
# "http:host" and "https:/host" to another site, read "\" as "/", drop tabs and line breaks
# anywhere and spaces and control characters at the ends: none of those is a path here.
_SAME_SITE_PATH = re.compile(r"/(?![/\\])[!-\[\]-~]*")


def is_same_site_path(target: str | None) -> bool:
    """Whether ``target`` (a ``next``/``url`` value) is a path on this site."""
    return target is not None and _SAME_SITE_PATH.fullmatch(target) is not None


class SameSiteReturn:
    """Keep a Flask-Admin view's return target on this site.

    Flask-Admin takes where to go back to from the ``url`` query argument or form field
    (``flask_admin.helpers.get_redirect_target``, read by details, create, edit, delete,
    export and the list actions, for their redirects and their "List" and "Cancel" links),
    and its check lets targets such as "http:host" through. A target that is not a path on
    this site is dropped from the request before the view runs, so the view goes back to
    its list.
    """

    return_argument = "url"

    def _handle_view(self, name, **kwargs):
        # Flask-Admin's hook run before every exposed view (the base views' access check
        # overrides it too); Flask-Admin offers no public one for the return target.
        key = self.return_argument
        if not all(is_same_site_path(target) for target in request.values.getlist(key)):
            for source in ("args", "form", "values"):
                kept = getattr(request, source).copy()
                kept.poplist(key)
                # Werkzeug caches these on the request: setting one replaces it for the rest
                # of this request (``get_redirect_target`` reads ``values``; templates
                # carry ``args`` into links).
                setattr(request, source, ImmutableMultiDict(kept))
        return super()._handle_view(name, **kwargs)
