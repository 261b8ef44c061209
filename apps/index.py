"""Index page, a gallery of every dashboard in the registry (``spectral-explorer serve`` shows it at ``/``).

Serve it with the dashboards: ``panel serve apps/*.py --index index``.
"""

from spectral_explorer.explorers.registry import index_page

index_page().servable(title="spectral_explorer")
