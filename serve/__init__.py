"""The dispo service (FastAPI): live suggestions, dispositions on demand, agent feedback.

Built in the serving issue; it imports the core (`dispo`), never `training`.
"""
