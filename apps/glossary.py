"""The glossary of terms shared by the dashboards and notebooks (``spectral-explorer serve`` shows it at ``/glossary``).

Serve it with the dashboards: ``panel serve apps/*.py --index index``.
"""

from spectral_explorer.explorers.registry import glossary_page

glossary_page().servable(title="Glossary")
