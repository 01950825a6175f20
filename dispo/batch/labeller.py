"""Redact, predict and build labelled rows for a list of contacts: the work of one chunk.

The local engine, its worker processes and the Ray engine's actors all run this one class,
so the engines differ only in who reads the records and where the rows are written.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import torch

from dispo.contact import Contact
from dispo.errors import ConfigError
from dispo.labelled import contact_row, labelled_row, labelled_table
from dispo.model.predictor import Predictor
from dispo.model.runtime import SegmentCache, TorchEncoder
from dispo.redact import default_redactor
from dispo.redact.pseudonym import Pseudonymizer

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LabellerConfig:
    """What a worker needs to label contacts: picklable, so it travels to processes and Ray actors."""

    bundle: str  # a bundle folder (resolved by the driver, so every worker loads the same version)
    backend: str = "auto"
    redact: bool = True
    top_k: int = 3
    batch_size: int = 32
    threads: int | None = None  # torch intra-op threads; None: torch's default
    segment_cache: int = 50_000  # turn vectors kept for repeated segments (0: none)
    pseudonym_key: str | None = None  # pseudonymise customer and agent ids (dispo.redact.pseudonym)

    def __post_init__(self) -> None:
        if self.top_k <= 0:
            raise ConfigError(f"LabellerConfig.top_k must be positive, got {self.top_k}")
        if self.batch_size <= 0:
            raise ConfigError(f"LabellerConfig.batch_size must be positive, got {self.batch_size}")
        if self.threads is not None and self.threads <= 0:
            raise ConfigError(f"LabellerConfig.threads must be positive, got {self.threads}")
        if self.segment_cache < 0:
            raise ConfigError(f"LabellerConfig.segment_cache must be >= 0, got {self.segment_cache}")


class Labeller:
    def __init__(self, config: LabellerConfig) -> None:
        if config.threads is not None:
            torch.set_num_threads(config.threads)
        self.config = config
        self.predictor = Predictor.load(Path(config.bundle), backend=config.backend)
        self.redactor = default_redactor() if config.redact else None
        self.pseudonymizer = Pseudonymizer(config.pseudonym_key) if config.pseudonym_key else None
        self._backend_name = "torch" if self.predictor.backend is None else self.predictor.backend.name
        self.cache: SegmentCache | None = None
        if config.segment_cache:
            inner = self.predictor.backend or TorchEncoder(self.predictor.model)
            self.cache = SegmentCache(inner, config.segment_cache)
            self.predictor.backend = self.cache

    @property
    def backend_name(self) -> str:
        return self._backend_name

    def label(self, contacts: Sequence[Contact]) -> pa.Table:
        """Rows of :data:`dispo.labelled.LABELLED_SCHEMA`, one per contact, in input order.

        Redaction runs before the model sees the text (as on every ingestion path); the rows
        carry ids, times and labels, which redaction leaves unchanged. A contact without a transcript
        (abandoned in the queue, or blocked) has nothing to classify: its row carries the contact's
        columns and no prediction, so queue measures still count it."""
        if self.redactor is not None:
            contacts = [self.redactor.redact_contact(c) for c in contacts]
        if self.pseudonymizer is not None:
            contacts = [self.pseudonymizer.apply(c) for c in contacts]
        spoken = [c for c in contacts if c.turns]
        predictions = iter(
            self.predictor.predict(spoken, top_k=self.config.top_k, batch_size=self.config.batch_size) if spoken else []
        )
        taxonomy = self.predictor.taxonomy
        return labelled_table(
            [
                labelled_row(contact, next(predictions), taxonomy) if contact.turns else contact_row(contact, taxonomy)
                for contact in contacts
            ]
        )
