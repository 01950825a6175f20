"""Where the metrics read from: a labelled-contact table (Parquet or Arrow) and, optionally, QA audits.

:func:`open_source` puts both behind a DuckDB connection as two views with fixed columns:

- ``contacts``: the columns of :data:`dispo.labelled.LABELLED_SCHEMA` the metrics use, with the model's
  labels renamed ``model_reason`` / ``model_outcome``. A column the input lacks is NULL (and listed in
  :attr:`MetricsSource.missing_columns`, so a report can say which numbers it could not compute);
  ``sentiment_end`` is the ``sentiment_end`` column where the input has one, else ``sentiment`` (the
  contact-level sentiment is read as the end-of-contact one); ``sentiment_start`` is never invented.
- ``audits``: one row per audited contact, ``contact_id, audit_reason, audit_outcome``, the latest
  decision when a contact was audited more than once (by ``decided_at``, ``audited_at`` or
  ``created_at``, whichever the table has).
- ``surveys`` (optional): per contact, ``nps`` (0-10) and ``csat`` (1-5) answers of a survey file
  (CSV, JSONL or Parquet with a ``contact_id`` column and one or both answers), joined on contact_id.
- ``agent_hours`` (optional): login sessions with their hours, from a file of ``agent_id``,
  ``logged_in_at``, ``logged_out_at`` (the engine sums them per agent and day of the login).
- ``label_issues`` (optional): per contact, the estimated chance that the agent's reason and outcome
  codes are right (its ``estimated_right`` column), from the ``label_issues.jsonl``
  that ``dispo train --label-noise`` writes into the bundle (JSONL or Parquet).

Times without a zone are read as UTC. A DuckDB connection is not safe for concurrent queries, so every
query of the engine holds :attr:`MetricsSource.lock`; a service can share one source between threads.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import duckdb
import pyarrow as pa

from dispo.contact import label_key
from dispo.errors import InvalidInputError
from dispo.label_issues import Coverage, read_label_issues
from dispo.taxonomy import Taxonomy, load_taxonomy

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS: tuple[str, ...] = ("contact_id", "started_at")
STRING_COLUMNS: tuple[str, ...] = (
    "customer_id",
    "channel",
    "provider",
    "agent_id",
    "queue",
    "reason",
    "outcome",
    "sentiment",
    "sentiment_start",
    "sentiment_end",
    "agent_reason",
    "agent_outcome",
    "disconnected_by",
)
TIME_COLUMNS: tuple[str, ...] = ("started_at", "ended_at", "queued_at", "answered_at")
FLAG_COLUMNS: tuple[str, ...] = ("abandoned", "blocked")
NUMBER_COLUMNS: tuple[str, ...] = ("upsell_probability",)
AUDIT_TIME_COLUMNS: tuple[str, ...] = ("decided_at", "audited_at", "created_at")
_TIME_TYPES = ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMP_US")
_NUMBER_TYPES = ("FLOAT", "DOUBLE", "DECIMAL", "INTEGER", "BIGINT", "SMALLINT", "TINYINT", "HUGEINT")


def run(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    """Execute and fetch every row: DuckDB refuses the next statement while a result is unfinished."""
    return con.execute(sql, params).fetchall() if params is not None else con.execute(sql).fetchall()


def first_row(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, Any] | None = None) -> tuple[Any, ...]:
    rows = run(con, sql, params)
    if not rows:
        raise RuntimeError(f"query returned no row: {sql[:80]}")
    return rows[0]


class MetricsInputError(InvalidInputError):
    """The labelled table or the audits cannot be read or do not have the columns the metrics need."""


DataInput: TypeAlias = str | Path | pa.Table


@dataclass
class MetricsSource:
    """A DuckDB connection holding the ``contacts`` and ``audits`` views, and the taxonomy of their labels."""

    connection: duckdb.DuckDBPyConnection
    taxonomy: Taxonomy
    description: str
    columns: frozenset[str]
    has_audits: bool
    has_label_issues: bool = False
    has_surveys: frozenset[str] = frozenset()  # which answers the survey file has: nps, csat
    has_agent_hours: bool = False
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    #: What the engine derived from the views (chained contacts, aggregates) per configuration, by key.
    cache: dict[Any, Any] = field(default_factory=dict, repr=False)
    #: Temporary tables and views the engine created, as (kind, name), oldest first.
    temporary: list[tuple[str, str]] = field(default_factory=list, repr=False)

    @property
    def missing_columns(self) -> tuple[str, ...]:
        known = (*STRING_COLUMNS, *TIME_COLUMNS, *NUMBER_COLUMNS, *FLAG_COLUMNS)
        return tuple(c for c in known if c not in self.columns and c not in ("sentiment_start", "sentiment_end"))

    @property
    def has_sentiment_start(self) -> bool:
        """A start sentiment to compare with: the column exists and holds at least one value (a
        labelled table from a model without a sentiment head has the column, all null)."""
        if "sentiment_start" not in self.columns:
            return False
        if "has_sentiment_start" not in self.cache:
            with self.query() as con:
                (count,) = first_row(con, "SELECT count(sentiment_start) FROM contacts")
            self.cache["has_sentiment_start"] = count > 0
        return bool(self.cache["has_sentiment_start"])

    def has_values(self, column: str) -> bool:
        """The contacts view's ``column`` (its names: ``model_reason``, ``sentiment_end``...) holds at least
        one value. The view has every column, all null where the input had none, and a labelled table
        has every column of the schema."""
        key = ("has_values", column)
        if key not in self.cache:
            with self.query() as con:
                (count,) = first_row(con, f'SELECT count("{column}") FROM contacts')
            self.cache[key] = count > 0
        return bool(self.cache[key])

    @contextmanager
    def query(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.lock:
            yield self.connection

    def clear_cache(self) -> None:
        """Drop everything derived per configuration (a service computing many configurations on one
        snapshot frees the memory this way; the views over the input stay)."""
        with self.lock:
            for kind, name in reversed(self.temporary):
                run(self.connection, f"DROP {kind} IF EXISTS {name}")
            self.temporary.clear()
            self.cache.clear()

    def close(self) -> None:
        with self.lock:
            self.cache.clear()
            self.temporary.clear()
            self.connection.close()

    def __enter__(self) -> MetricsSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_source(
    data: DataInput,
    *,
    audits: DataInput | None = None,
    taxonomy: Taxonomy | str | Path | None = None,
    threads: int | None = None,
    audit_time_column: str | None = None,
    label_issues: str | Path | None = None,
    surveys: str | Path | None = None,
    agent_hours: str | Path | None = None,
) -> MetricsSource:
    """Open a labelled table (a Parquet file, folder or glob, or an Arrow table), optional audits,
    optional label issues (estimated agent accuracy without audits), optional survey answers and
    optional agent login sessions."""
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise MetricsInputError(f"threads must be a positive integer, got {threads!r}")
    tax = taxonomy if isinstance(taxonomy, Taxonomy) else load_taxonomy(taxonomy)
    con = duckdb.connect(":memory:")
    try:
        run(con, "SET TimeZone = 'UTC'")
        if threads is not None:
            run(con, f"SET threads = {int(threads)}")
        description = _register(con, data, "input_contacts", "labelled table")
        columns = _columns(con, "input_contacts")
        _check_contacts(con, columns, description)
        run(con, _contacts_view_sql(columns))
        has_audits = audits is not None
        if audits is not None:
            audit_description = _register(con, audits, "input_audits", "audits")
            _audits_view(con, _columns(con, "input_audits"), audit_description, audit_time_column)
            _audits_as_spelled(con, tax)
            _check_audits(con, tax, audit_description)
        else:
            run(
                con,
                "CREATE VIEW audits AS SELECT NULL::VARCHAR AS contact_id, NULL::VARCHAR AS audit_reason, "
                "NULL::VARCHAR AS audit_outcome, NULL::BOOLEAN AS audit_uniform WHERE false",
            )
        if label_issues is not None:
            _label_issues_view(con, Path(label_issues))
        answers = _surveys_view(con, Path(surveys)) if surveys is not None else frozenset()
        if agent_hours is not None:
            _agent_hours_view(con, Path(agent_hours))
    except BaseException:
        con.close()
        raise
    logger.debug("metrics source %s (columns: %s, audits: %s)", description, sorted(columns), has_audits)
    return MetricsSource(
        con,
        tax,
        description,
        frozenset(columns),
        has_audits,
        label_issues is not None,
        has_surveys=answers,
        has_agent_hours=agent_hours is not None,
    )


def _register(con: duckdb.DuckDBPyConnection, data: DataInput, name: str, what: str) -> str:
    if isinstance(data, pa.Table):
        con.register(name, data)
        return f"{what}: Arrow table of {data.num_rows} rows"
    if not isinstance(data, str | Path):
        raise MetricsInputError(f"{what}: expected a Parquet path or an Arrow table, found {type(data).__name__}")
    path = Path(data)
    if path.is_dir():
        pattern = str(path / "**" / "*.parquet")
    elif path.exists() or any(ch in str(data) for ch in "*?["):
        pattern = str(data)
    else:
        raise MetricsInputError(f"{what}: no such file, folder or glob: {data}")
    try:
        con.read_parquet(pattern, union_by_name=True).create_view(name)
    except duckdb.Error as exc:
        raise MetricsInputError(f"{what}: cannot read {pattern} as Parquet: {exc}") from None
    return f"{what}: {pattern}"


def _columns(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, str]:
    return {str(row[0]): str(row[1]) for row in run(con, f"DESCRIBE {name}")}


def _check_contacts(con: duckdb.DuckDBPyConnection, columns: dict[str, str], where: str) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise MetricsInputError(f"{where}: missing required columns {missing} (found {sorted(columns)})")
    for name in TIME_COLUMNS:
        if name in columns and columns[name] not in _TIME_TYPES:
            raise MetricsInputError(f"{where}: column {name!r} must be a timestamp, found type {columns[name]}")
    for name in FLAG_COLUMNS:
        if name in columns and columns[name] != "BOOLEAN":
            raise MetricsInputError(f"{where}: column {name!r} must be true/false, found type {columns[name]}")
    for name in NUMBER_COLUMNS:
        if name in columns and not columns[name].startswith(_NUMBER_TYPES):
            raise MetricsInputError(f"{where}: column {name!r} must be a number, found type {columns[name]}")
    if "upsell_probability" in columns:
        bad, example = first_row(
            con,
            "SELECT count(*), min(contact_id) FROM input_contacts WHERE isnan(CAST(upsell_probability AS DOUBLE)) "
            "OR upsell_probability < 0 OR upsell_probability > 1",
        )
        if bad:
            raise MetricsInputError(
                f"{where}: column 'upsell_probability' must be a probability from 0 to 1; {bad} rows are not "
                f"(NaN or out of range), e.g. contact {example}"
            )
    nulls, duplicates = first_row(
        con,
        "SELECT (SELECT count(*) FROM input_contacts WHERE contact_id IS NULL), "
        "(SELECT list(contact_id) FROM (SELECT contact_id FROM input_contacts WHERE contact_id IS NOT NULL "
        "GROUP BY contact_id HAVING count(*) > 1 ORDER BY contact_id LIMIT 3))",
    )
    if nulls:
        raise MetricsInputError(f"{where}: {nulls} rows have no contact_id")
    if duplicates:
        raise MetricsInputError(f"{where}: contact_id is not unique, e.g. {', '.join(map(str, duplicates))}")


def _contacts_view_sql(columns: dict[str, str]) -> str:
    def pick(name: str, cast: str, alias: str | None = None) -> str:
        alias = alias or name
        value = f'CAST("{name}" AS {cast})' if name in columns else f"NULL::{cast}"
        return f"{value} AS {alias}"

    end_sentiment = "sentiment_end" if "sentiment_end" in columns else "sentiment"
    select = [
        pick("contact_id", "VARCHAR"),
        pick("customer_id", "VARCHAR"),
        pick("channel", "VARCHAR"),
        pick("provider", "VARCHAR"),
        pick("agent_id", "VARCHAR"),
        pick("queue", "VARCHAR"),
        pick("started_at", "TIMESTAMPTZ"),
        pick("ended_at", "TIMESTAMPTZ"),
        pick("reason", "VARCHAR", "model_reason"),
        pick("outcome", "VARCHAR", "model_outcome"),
        pick("agent_reason", "VARCHAR"),
        pick("agent_outcome", "VARCHAR"),
        pick(end_sentiment, "VARCHAR", "sentiment_end"),
        pick("sentiment_start", "VARCHAR"),
        pick("upsell_probability", "DOUBLE"),
        pick("queued_at", "TIMESTAMPTZ"),
        pick("answered_at", "TIMESTAMPTZ"),
        pick("disconnected_by", "VARCHAR"),
        pick("abandoned", "BOOLEAN"),
        pick("blocked", "BOOLEAN"),
    ]
    return "CREATE VIEW contacts AS SELECT " + ", ".join(select) + " FROM input_contacts"


def _read_table(con: duckdb.DuckDBPyConnection, path: Path, name: str, where: str) -> dict[str, str]:
    """Register a CSV, JSONL or Parquet file as view ``name``; its columns and types."""
    if not path.is_file():
        raise MetricsInputError(f"{where}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            relation = con.read_parquet(str(path))
        elif suffix == ".csv":
            relation = con.read_csv(str(path), header=True)
        else:
            relation = con.read_json(str(path))
        relation.create_view(name)
    except duckdb.Error as exc:
        raise MetricsInputError(f"{where}: cannot read as CSV, JSONL or Parquet: {exc}") from None
    return _columns(con, name)


def _surveys_view(con: duckdb.DuckDBPyConnection, path: Path) -> frozenset[str]:
    """Survey answers per contact: NPS on 0-10, CSAT on 1-5 (whole numbers); a value outside its scale or
    a contact answered twice is an error naming a contact, never a silent guess."""
    where = f"surveys: {path}"
    columns = _read_table(con, path, "input_surveys", where)
    answers = frozenset(c for c in ("nps", "csat") if c in columns)
    if "contact_id" not in columns or not answers:
        raise MetricsInputError(
            f"{where}: needs a contact_id column and an nps or csat column (found {sorted(columns)})"
        )
    select = ["CAST(contact_id AS VARCHAR) AS id_"]
    for name in ("nps", "csat"):
        select.append(f"TRY_CAST({name} AS DOUBLE) AS {name}" if name in answers else f"NULL::DOUBLE AS {name}")
        if name in answers:
            select.append(f"{name} AS raw_{name}")
    run(con, f"CREATE VIEW survey_rows AS SELECT {', '.join(select)} FROM input_surveys")
    scales = {"nps": (0, 10), "csat": (1, 5)}
    for name in sorted(answers):
        low, high = scales[name]
        bad, example = first_row(
            con,
            f"SELECT count(*), min(id_) FROM survey_rows WHERE raw_{name} IS NOT NULL AND (TRY_CAST(raw_{name} AS "
            f"DOUBLE) IS NULL OR {name} NOT BETWEEN {low} AND {high} OR {name} <> round({name}))",
        )
        if bad:
            raise MetricsInputError(
                f"{where}: column {name!r}: expected a whole number from {low} to {high}; {bad} answers are not, "
                f"e.g. the one of contact {example}"
            )
    nulls, duplicates = first_row(
        con,
        "SELECT (SELECT count(*) FROM survey_rows WHERE id_ IS NULL), (SELECT list(id_) FROM (SELECT id_ FROM "
        "survey_rows WHERE id_ IS NOT NULL GROUP BY id_ HAVING count(*) > 1 ORDER BY id_ LIMIT 3))",
    )
    if nulls:
        raise MetricsInputError(f"{where}: {nulls} rows have no contact_id")
    if duplicates:
        raise MetricsInputError(f"{where}: contacts answered more than once, e.g. {', '.join(map(str, duplicates))}")
    run(con, "CREATE VIEW surveys AS SELECT id_ AS contact_id, nps, csat FROM survey_rows WHERE id_ IS NOT NULL")
    return answers


def _agent_hours_view(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Login sessions with their hours (the engine sums them per agent and day in the report's time zone)."""
    where = f"agent hours: {path}"
    columns = _read_table(con, path, "input_agent_hours", where)
    missing = [c for c in ("agent_id", "logged_in_at", "logged_out_at") if c not in columns]
    if missing:
        raise MetricsInputError(f"{where}: missing required columns {missing} (found {sorted(columns)})")
    run(
        con,
        "CREATE VIEW agent_sessions AS SELECT CAST(agent_id AS VARCHAR) AS agent_id, "
        "TRY_CAST(logged_in_at AS TIMESTAMPTZ) AS logged_in_at, TRY_CAST(logged_out_at AS TIMESTAMPTZ) AS "
        "logged_out_at, logged_in_at AS raw_in, logged_out_at AS raw_out FROM input_agent_hours",
    )
    bad, example = first_row(
        con,
        "SELECT count(*), min(coalesce(agent_id, '(no agent_id)')) FROM agent_sessions WHERE agent_id IS NULL "
        "OR logged_in_at IS NULL OR logged_out_at IS NULL OR logged_out_at < logged_in_at",
    )
    if bad:
        raise MetricsInputError(
            f"{where}: {bad} sessions lack an agent_id, lack a readable time, or end before they start, "
            f"e.g. agent {example}"
        )
    run(
        con,
        "CREATE VIEW agent_hours AS SELECT agent_id, logged_in_at, "
        "(epoch(logged_out_at) - epoch(logged_in_at)) / 3600.0 AS hours FROM agent_sessions",
    )


def _label_issues_view(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Per contact, the estimated chance that each agent code is right (``training.noise``), read and
    checked by :mod:`dispo.label_issues`, and refused when its codes are not the table's agent codes."""
    where = f"label issues: {path}"
    try:
        issues = read_label_issues(path)
    except InvalidInputError as exc:
        raise MetricsInputError(str(exc)) from None
    rows = [issue for judged in issues.values() for issue in judged.values()]
    lacking = sum(1 for issue in rows if issue.get("estimated_right") is None)
    if lacking:
        raise MetricsInputError(f"{where}: {lacking} rows have no estimated_right (written by dispo before the "
                                "estimate existed: train the model again)")  # fmt: skip
    table = pa.table(
        {
            "contact_id": [str(issue["contact_id"]) for issue in rows],
            "task": [str(issue["task"]) for issue in rows],
            "given": [str(issue["given"]) for issue in rows],
            "estimated_right": [float(issue["estimated_right"]) for issue in rows],
        }
    )
    con.register("input_label_issues", table)
    coded = "CASE i.task WHEN 'reason' THEN c.agent_reason ELSE c.agent_outcome END"
    mismatched, example = first_row(
        con,
        f"SELECT count(*), min(i.contact_id || ': ' || i.task || ' ' || i.given || ' judged, ' || coalesce({coded}, "
        "'none') || ' in the data') FROM input_label_issues i JOIN contacts c ON c.contact_id = i.contact_id "
        f"WHERE {_label_key('i.given')} IS DISTINCT FROM {_label_key(coded)}",  # dispo.label_issues.same_code
    )
    if mismatched:
        raise MetricsInputError(
            f"{where}: {mismatched} judged codes are not the codes the contacts carry in the data (e.g. contact "
            f"{example}): the file judged another run's or other data's codes"
        )
    run(
        con,
        "CREATE VIEW label_issues AS SELECT contact_id, "
        "max(CASE WHEN task = 'reason' THEN estimated_right END) AS est_reason_right, "
        "max(CASE WHEN task = 'outcome' THEN estimated_right END) AS est_outcome_right "
        "FROM input_label_issues GROUP BY 1",
    )


def _label_key(sql: str) -> str:
    """:func:`dispo.contact.label_key` in SQL: case, spaces, hyphens and underscores aside."""
    return rf"regexp_replace(lower(trim({sql})), '[\s_-]+', '_', 'g')"


def label_issue_coverage(source: MetricsSource) -> Coverage:
    """How the label issues given and the contacts cover each other (``source.has_label_issues``)."""
    if "label_issue_coverage" in source.cache:
        return source.cache["label_issue_coverage"]
    with source.query() as con:
        judged, found, not_judged, tasks = first_row(
            con,
            "SELECT (SELECT count(DISTINCT contact_id) FROM input_label_issues), "
            "(SELECT count(DISTINCT i.contact_id) FROM input_label_issues i JOIN contacts c USING (contact_id)), "
            "(SELECT count(*) FROM contacts WHERE (agent_reason IS NOT NULL OR agent_outcome IS NOT NULL) "
            "AND contact_id NOT IN (SELECT contact_id FROM input_label_issues)), "
            "(SELECT list(DISTINCT i.task) FROM input_label_issues i JOIN contacts c USING (contact_id))",
        )
    coverage = Coverage(judged=int(judged), found=int(found), not_judged=int(not_judged), tasks=frozenset(tasks or ()))
    source.cache["label_issue_coverage"] = coverage
    return coverage


def _audits_as_spelled(con: duckdb.DuckDBPyConnection, taxonomy: Taxonomy) -> None:
    """The ``audits`` view: audited labels written as the taxonomy writes them (``Resolved`` is
    ``resolved``, ``Edit Account`` is ``edit_account``; :func:`dispo.contact.label_key`), where exactly
    one name matches."""
    rows: list[tuple[str, str, str]] = []
    for task, names in (("reason", taxonomy.reason_names), ("outcome", taxonomy.outcome_names)):
        keys = Counter(label_key(name) for name in names)
        rows += [(task, label_key(name), name) for name in names if keys[label_key(name)] == 1]
    run(con, "CREATE TABLE label_spelling (task VARCHAR, key VARCHAR, name VARCHAR)")
    if rows:
        con.executemany("INSERT INTO label_spelling VALUES (?, ?, ?)", rows)
    key = "regexp_replace(lower(trim({})), '[\\s_-]+', '_', 'g')"
    run(
        con,
        "CREATE VIEW audits AS SELECT a.contact_id, coalesce(r.name, a.audit_reason) AS audit_reason, "
        "coalesce(o.name, a.audit_outcome) AS audit_outcome, a.audit_uniform FROM audits_as_given a "
        f"LEFT JOIN label_spelling r ON r.task = 'reason' AND r.key = {key.format('a.audit_reason')} "
        f"LEFT JOIN label_spelling o ON o.task = 'outcome' AND o.key = {key.format('a.audit_outcome')}",
    )


def _check_audits(con: duckdb.DuckDBPyConnection, taxonomy: Taxonomy, where: str) -> None:
    """Audited labels must be the taxonomy's (as a contact's labels must); an audit of a contact the
    table does not hold is left out, and said so."""
    for column, names in (("audit_reason", taxonomy.reason_names), ("audit_outcome", taxonomy.outcome_names)):
        unknown = first_row(
            con,
            f"SELECT list(DISTINCT {column} ORDER BY {column}) FROM audits "
            f"WHERE {column} IS NOT NULL AND NOT list_contains($names, {column})",
            {"names": list(names)},
        )[0]
        if unknown:
            raise MetricsInputError(
                f"{where}: {column} holds labels outside the taxonomy {taxonomy.name!r}: {', '.join(unknown[:5])}"
            )
    orphans, examples = first_row(
        con,
        "SELECT count(*), list(contact_id ORDER BY contact_id)[1:3] FROM audits "
        "WHERE contact_id NOT IN (SELECT contact_id FROM contacts)",
    )
    if orphans:
        logger.warning("%s: %d audited contacts are not in the labelled table (e.g. %s): left out", where, orphans,
                       ", ".join(examples))  # fmt: skip


def _audits_view(con: duckdb.DuckDBPyConnection, columns: dict[str, str], where: str, time_column: str | None) -> None:
    if "contact_id" not in columns:
        raise MetricsInputError(f"{where}: missing required column 'contact_id' (found {sorted(columns)})")
    if "audit_reason" not in columns and "audit_outcome" not in columns:
        raise MetricsInputError(f"{where}: needs an 'audit_reason' or 'audit_outcome' column (found {sorted(columns)})")
    if time_column is not None and time_column not in columns:
        raise MetricsInputError(f"{where}: no column {time_column!r} to order the audit decisions by")
    if time_column is None:
        time_column = next((c for c in AUDIT_TIME_COLUMNS if c in columns), None)
    reason = "CAST(audit_reason AS VARCHAR)" if "audit_reason" in columns else "NULL::VARCHAR"
    outcome = "CAST(audit_outcome AS VARCHAR)" if "audit_outcome" in columns else "NULL::VARCHAR"
    # Agent accuracy is estimated only from audits of the uniform random sample when the table says
    # which those are (`dispo audit export --audits-table`); a ranked queue over-samples wrong codes.
    uniform = "coalesce(CAST(in_uniform_sample AS BOOLEAN), false)" if "in_uniform_sample" in columns else "true"
    if time_column is None:
        duplicates = first_row(
            con,
            "SELECT list(contact_id) FROM (SELECT contact_id FROM input_audits GROUP BY contact_id "
            "HAVING count(*) > 1 ORDER BY contact_id LIMIT 3)",
        )
        if duplicates[0]:
            raise MetricsInputError(
                f"{where}: contacts audited more than once ({', '.join(map(str, duplicates[0]))}) and no "
                f"{' / '.join(AUDIT_TIME_COLUMNS)} column says which decision is the latest"
            )
        order = "contact_id"
    else:
        order = f'"{time_column}" DESC NULLS LAST'
    run(
        con,
        f"CREATE VIEW audits_as_given AS SELECT CAST(contact_id AS VARCHAR) AS contact_id, {reason} AS audit_reason, "
        f"{outcome} AS audit_outcome, {uniform} AS audit_uniform FROM input_audits WHERE contact_id IS NOT NULL "
        f"QUALIFY row_number() OVER (PARTITION BY contact_id ORDER BY {order}) = 1",
    )
