"""Synthetic contact-center corpus builder: multi-turn contacts with gold labels and planted PII."""

from training.corpus.builder import BuiltContact, CorpusBuilder, CorpusConfig, build_contacts
from training.corpus.pii import PlantedPII

__all__ = ["BuiltContact", "CorpusBuilder", "CorpusConfig", "PlantedPII", "build_contacts"]
