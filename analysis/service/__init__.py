"""The lineage service behind ``hubtree serve``: a read-only JSON API and web explorer over the store.

:mod:`~analysis.service.snapshot` holds the graph (reloaded after a crawl), :mod:`~analysis.service.lineage` and
:mod:`~analysis.service.details` compute the answers, :mod:`~analysis.service.app` is the ASGI app; its pages and
scripts are package data (``templates/``, ``static/``).
"""

from analysis.service.app import Settings, create_app
from analysis.service.snapshot import Snapshots

__all__ = ["Settings", "Snapshots", "create_app"]
