"""QA audit: which agent dispositions are probably wrong, how accurate agents are, how much two
analysts agree, and how audited contacts become training data (see docs/audit.md)."""
