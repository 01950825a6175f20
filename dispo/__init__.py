"""dispo: contact-disposition classification for customer-service contact centers.

The core package holds what training and serving share: the contact contract, the taxonomy,
readers and writers, PII redaction, and (later) the model definition, predictor and metrics.
"""

import os

__version__ = "0.1.0"

# OpenMP threads that spin while waiting make torch several times slower as soon as another
# process wants a core (measured: 94 vs 574 tokens/s training MiniLM on 2 busy cores). Sleep
# instead. Takes effect if dispo is imported before torch; a value set by the user wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
