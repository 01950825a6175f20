"""The QA audit service: its tables (:mod:`.db`), SQL (:mod:`.store`), use cases (:mod:`.service`),
HTTP routes and browser UI (:mod:`.routes`, :mod:`.ui`, templates, static) and CLI (:mod:`.cli`).
What is computed from audits without a database (item rows, agreement, accuracy) is in
:mod:`dispo.audit`."""
