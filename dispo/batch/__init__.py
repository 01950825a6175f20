"""Batch labelling: ``dispo label`` and the service's batch jobs (see :mod:`dispo.batch.job`)."""

from dispo.batch.job import LabelJob, LabelProgress, LabelSummary, run_label_job

__all__ = ["LabelJob", "LabelProgress", "LabelSummary", "run_label_job"]
