"""dispo: contact-disposition classification for customer-service contact centers.

The core package holds what training and serving share: the contact contract, the taxonomy,
readers and writers, PII redaction, and (later) the model definition, predictor and metrics.
"""

__version__ = "0.1.0"
