"""scorebridge: a self-hosted lead-scoring bridge between Mautic and a sales CRM.

Nothing executes on import; the command line lives in :mod:`scorebridge.cli`.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
