"""Batch labelling: ``dispo label`` and the service's batch jobs (see :mod:`dispo.batch.job`)."""

from dispo.batch.context import LabelProgress
from dispo.batch.job import LabelJob, LabelSummary, run_label_job

__all__ = ["LabelJob", "LabelProgress", "LabelSummary", "run_label_job"]
