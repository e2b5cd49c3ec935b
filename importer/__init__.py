"""psimport: bring bank statements (OFX/QFX/QBO, QIF, CSV, CAMT, MT940) into PocketSmith, once each, categorised.

The pipeline, one module a stage: parsers → dedupe → rules → plan → writer (with its journal).
"""

from importer.errors import AmbiguousWrite, ApiError, ConfigError, ImporterError, InputError
from importer.record import Account, Split, Statement, Transaction

__version__ = "0.1.0"

__all__ = ["Account", "AmbiguousWrite", "ApiError", "ConfigError", "ImporterError", "InputError",
           "Split", "Statement", "Transaction", "__version__"]
