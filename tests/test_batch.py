"""Batch labelling (`dispo label`): formats, rejects accounting, resume after a kill, the Ray engine."""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import torch

from dispo.batch import LabelJob, LabelProgress, run_label_job
from dispo.batch.chunks import count_records
from dispo.batch.cli import register_label
from dispo.batch.manifest import MANIFEST_FILE, JobStateError
from dispo.contact import Contact
from dispo.io import write_contacts
from dispo.labelled import LABELLED_COLUMNS
from dispo.model.predictor import Predictor, encode_packed
from tests.factories import install_bundle

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory, tiny_bundle: Path) -> Path:
    """A registry holding the tiny random-encoder model ``tiny:v1``."""
    root = tmp_path_factory.mktemp("batch-models")
    install_bundle(tiny_bundle, root)
    return root


@pytest.fixture(scope="module")
def corpus() -> list[Contact]:
    from training.corpus.builder import CorpusConfig, build_contacts

    return build_contacts(CorpusConfig(n_contacts=60, seed=11))


def job(models: Path, inputs: Any, output: Path, **overrides: Any) -> LabelJob:
    settings: dict[str, Any] = {
        "model": "tiny",
        "models_dir": models,
        "chunk_size": 16,
        "progress": False,
        "workers": 1,  # worker processes take seconds to start: only where they are the point
    }
    settings.update(overrides)
    return LabelJob(inputs=inputs, output=output, **settings)


def rows(path: Path) -> list[dict[str, Any]]:
    return pq.read_table(path).to_pylist()


def decisions(table: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What a row decides (labels and codes), without the probabilities."""
    keys = ("contact_id", "reason", "outcome", "sentiment", "disposition_code", "agent_code", "agent_agrees")
    return [tuple(r[k] for k in keys) for r in table]


def assert_same_rows(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> None:
    assert decisions(a) == decisions(b)
    for x, y in zip(a, b, strict=True):
        for key in ("reason_probability", "outcome_probability", "upsell_probability"):
            assert x[key] == pytest.approx(y[key], abs=1e-5)


# -- formats ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_round_trip_every_format(models: Path, corpus: list[Contact], tmp_path: Path, suffix: str) -> None:
    source = tmp_path / f"contacts{suffix}"
    write_contacts(corpus, source)
    summary = run_label_job(job(models, [source], tmp_path / "out.parquet"))

    assert (summary.records, summary.outputs, summary.rejects) == (60, 60, 0)
    table = pq.read_table(tmp_path / "out.parquet")
    assert tuple(table.schema.names) == LABELLED_COLUMNS
    out = table.to_pylist()
    assert [r["contact_id"] for r in out] == [c.contact_id for c in corpus]
    for row, contact in zip(out, corpus, strict=True):
        assert row["model_version"] == "tiny:v1"
        assert len(row["reasons"]) == 3 and row["reason"] == row["reasons"][0]["label"]
        assert row["n_turns"] == len(contact.turns)
        assert row["disposition_code"] is not None
        agent = contact.agent_labels
        if agent is not None and agent.reason is not None and agent.outcome is not None:
            assert row["agent_reason"] == agent.reason
            assert row["agent_agrees"] == (row["reason"] == agent.reason and row["outcome"] == agent.outcome)
            right = row["agent_reason_probability"] * row["agent_outcome_probability"]
            assert row["agent_wrong_probability"] == pytest.approx(1 - right, abs=1e-6)
    assert not (tmp_path / "out.parquet.work" / "parts").exists()  # parts are removed once merged


def test_formats_give_the_same_rows_and_folders_and_globs_work(
    models: Path, corpus: list[Contact], tmp_path: Path
) -> None:
    folder = tmp_path / "in"
    write_contacts(corpus[:20], folder / "a.jsonl")
    write_contacts(corpus[20:40], folder / "b.csv")
    write_contacts(corpus[40:], folder / "c.parquet")
    run_label_job(job(models, [folder], tmp_path / "folder.parquet"))
    run_label_job(job(models, [str(folder / "*.*")], tmp_path / "glob.parquet"))
    write_contacts(corpus, tmp_path / "all.jsonl")
    run_label_job(job(models, [tmp_path / "all.jsonl"], tmp_path / "single.parquet"))

    single = rows(tmp_path / "single.parquet")
    assert [r["contact_id"] for r in single] == [c.contact_id for c in corpus]
    assert_same_rows(rows(tmp_path / "folder.parquet"), single)
    assert_same_rows(rows(tmp_path / "glob.parquet"), single)


# -- rejects ----------------------------------------------------------------------------------------
def write_with_bad_records(contacts: list[Contact], path: Path) -> int:
    """JSONL with invalid records between the valid ones; returns how many are invalid."""
    good = [json.dumps(c.to_json_dict()) for c in contacts]
    bad = [
        "{not json",
        json.dumps({"contact_id": "empty", "turns": []}),
        json.dumps({"contact_id": "bot", "turns": [{"speaker": "bot", "text": "hi, call me on 415-555-0132"}]}),
        json.dumps({**contacts[0].to_json_dict(), "contact_id": "bad-label", "agent_labels": {"reason": "nope"}}),
    ]
    lines = good[:5] + bad[:2] + good[5:30] + bad[2:] + good[30:]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(bad)


def test_rejects_are_counted_and_explained(models: Path, corpus: list[Contact], tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    n_bad = write_with_bad_records(corpus, source)
    summary = run_label_job(job(models, [source], tmp_path / "out.parquet"))

    assert summary.records == count_records(source) == len(corpus) + n_bad
    assert (summary.outputs, summary.rejects) == (len(corpus), n_bad)
    assert summary.records == summary.outputs + summary.rejects
    assert [r["contact_id"] for r in rows(tmp_path / "out.parquet")] == [c.contact_id for c in corpus]
    rejects = [json.loads(line) for line in (tmp_path / "out.rejects.jsonl").read_text().splitlines()]
    assert [r["line"] for r in rejects] == [6, 7, 33, 34]
    assert all(r["source"] == str(source) for r in rejects)
    fields = [r["errors"][0]["field"] for r in rejects]
    assert fields == ["<line>", "turns", "turns[0].speaker", "agent_labels.reason"]
    assert "415-555-0132" not in json.dumps(rejects)  # rejected records are redacted too


def test_an_empty_input_labels_nothing_and_says_so(
    models: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text("", encoding="utf-8")
    with caplog.at_level("WARNING", logger="dispo.batch.job"):
        summary = run_label_job(job(models, [source], tmp_path / "out.parquet"))
    assert (summary.records, summary.outputs) == (0, 0)
    assert "the input holds no records" in caplog.text


def test_csv_rejects(models: Path, corpus: list[Contact], tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    write_contacts(corpus[:10], source)
    lines = len(source.read_text(encoding="utf-8").splitlines())  # transcripts span several lines
    with source.open("a", encoding="utf-8") as fh:
        fh.write('x-1,,chat,,,,,,,,,,,en,"Robot: hello",,,,,,,,,\n')
    summary = run_label_job(job(models, [source], tmp_path / "out.parquet"))
    assert (summary.records, summary.outputs, summary.rejects) == (11, 10, 1)
    reject = json.loads((tmp_path / "out.rejects.jsonl").read_text())
    assert reject["line"] == lines + 1 and reject["errors"][0]["field"] == "transcript line 1"


# -- resume -----------------------------------------------------------------------------------------
class CrashError(Exception):
    pass


def test_resume_after_a_crash_labels_the_rest_once(models: Path, corpus: list[Contact], tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    n_bad = write_with_bad_records(corpus, source)
    output = tmp_path / "out.parquet"

    def crash_after_two(progress: LabelProgress) -> None:
        if progress.records_done >= 32:
            raise CrashError

    with pytest.raises(CrashError):
        run_label_job(job(models, [source], output), progress_callback=crash_after_two)
    assert not output.exists()
    manifest = json.loads((tmp_path / "out.parquet.work" / MANIFEST_FILE).read_text())
    assert len(manifest["chunks"]) == 2 and not manifest["finished"]

    seen: list[LabelProgress] = []
    summary = run_label_job(job(models, [source], output), progress_callback=seen.append)
    assert summary.resumed_chunks == 2
    assert seen[0].records_done == 48  # the first new chunk, on top of the 32 records already done
    assert (summary.records, summary.outputs, summary.rejects) == (len(corpus) + n_bad, len(corpus), n_bad)
    assert [r["contact_id"] for r in rows(output)] == [c.contact_id for c in corpus]
    assert len((tmp_path / "out.rejects.jsonl").read_text().splitlines()) == n_bad

    fresh = run_label_job(job(models, [source], tmp_path / "fresh.parquet"))
    assert fresh.resumed_chunks == 0
    assert_same_rows(rows(output), rows(tmp_path / "fresh.parquet"))

    again = run_label_job(job(models, [source], output))  # finished: nothing to do
    assert again.resumed_chunks == again.chunks and again.outputs == len(corpus)


def test_a_changed_job_is_not_mixed_with_the_old_one(models: Path, corpus: list[Contact], tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    write_contacts(corpus, source)
    output = tmp_path / "out.parquet"

    def crash(progress: LabelProgress) -> None:
        raise CrashError

    with pytest.raises(CrashError):
        run_label_job(job(models, [source], output), progress_callback=crash)
    write_contacts(corpus[:30], source)
    with pytest.raises(JobStateError, match=r"inputs: .*in\.jsonl changed"):
        run_label_job(job(models, [source], output))
    with pytest.raises(JobStateError, match="chunk_size"):
        run_label_job(job(models, [source], output, chunk_size=8))
    summary = run_label_job(job(models, [source], output, restart=True))
    assert (summary.records, summary.resumed_chunks) == (30, 0)
    # a job started before a column changed its meaning (the table's version) is not resumed after
    manifest = output.parent / f"{output.name}.work" / "manifest.json"
    record = json.loads(manifest.read_text(encoding="utf-8"))
    del record["fingerprint"]["table_version"]
    manifest.write_text(json.dumps(record), encoding="utf-8")
    with pytest.raises(JobStateError, match="table_version: None then, 2 now"):
        run_label_job(job(models, [source], output))


def test_completed_files_are_not_read_again(models: Path, corpus: list[Contact], tmp_path: Path) -> None:
    write_contacts(corpus[:30], tmp_path / "in" / "a.jsonl")
    write_contacts(corpus[30:], tmp_path / "in" / "b.jsonl")
    output = tmp_path / "out.parquet"

    def crash_in_second_file(progress: LabelProgress) -> None:
        if progress.records_done > 30:
            raise CrashError

    with pytest.raises(CrashError):
        run_label_job(job(models, [tmp_path / "in"], output), progress_callback=crash_in_second_file)
    manifest = json.loads((tmp_path / "out.parquet.work" / MANIFEST_FILE).read_text())
    assert manifest["files"] == {"0": {"records": 30, "chunks": 2}}
    summary = run_label_job(job(models, [tmp_path / "in"], output))
    assert [r["contact_id"] for r in rows(output)] == [c.contact_id for c in corpus]
    assert summary.resumed_chunks == 3


@pytest.mark.slow
def test_sigkill_at_random_points_then_resume_gives_every_contact_once(
    models: Path, corpus: list[Contact], tmp_path: Path
) -> None:
    """`python -m dispo.batch label` killed with SIGKILL several times mid-run, then run to the end."""
    source = tmp_path / "in.jsonl"
    contacts = corpus * 5  # 300 records, ids repeated: every copy must come out once, in order
    n_bad = write_with_bad_records(contacts, source)
    output = tmp_path / "out.parquet"
    command = [
        sys.executable,
        "-m",
        "dispo.batch",
        "--log-level",
        "WARNING",
        "label",
        str(source),
        "-o",
        str(output),
        "--model",
        "tiny",
        "--models-dir",
        str(models),
        "--chunk-size",
        "10",
        "--workers",
        "1",
        "--threads",
        "1",
        "--no-progress",
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    manifest_path = tmp_path / "out.parquet.work" / MANIFEST_FILE
    rng = random.Random(7)
    n_chunks = -(-(len(contacts) + n_bad) // 10)
    kills = 0
    for target in sorted(rng.sample(range(2, n_chunks - 2), 3)):
        process = subprocess.Popen(command, env=env, cwd=REPO)
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            done = len(json.loads(manifest_path.read_text())["chunks"]) if manifest_path.is_file() else 0
            if done >= target:
                time.sleep(rng.uniform(0.0, 0.1))  # somewhere inside the next chunk, or between two
                break
            time.sleep(0.02)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait()
    assert kills >= 2, "the job finished before it could be killed: make it longer"
    assert not output.exists()
    finished = subprocess.run(command, env=env, cwd=REPO, timeout=300)
    assert finished.returncode == 0

    out = rows(output)
    assert [r["contact_id"] for r in out] == [c.contact_id for c in contacts]
    assert len((tmp_path / "out.rejects.jsonl").read_text().splitlines()) == n_bad
    manifest = json.loads(manifest_path.read_text())
    assert manifest["finished"] and sum(c["records"] for c in manifest["chunks"].values()) == len(contacts) + n_bad
    reference = run_label_job(job(models, [source], tmp_path / "reference.parquet", chunk_size=10))
    assert reference.outputs == len(out)
    assert_same_rows(out, rows(tmp_path / "reference.parquet"))


# -- engines ----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_worker_processes_give_the_same_rows(models: Path, corpus: list[Contact], tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    n_bad = write_with_bad_records(corpus, source)
    inline = run_label_job(job(models, [source], tmp_path / "inline.parquet"))
    pooled = run_label_job(job(models, [source], tmp_path / "pool.parquet", workers=2, threads=1))
    assert (pooled.outputs, pooled.rejects) == (inline.outputs, inline.rejects) == (len(corpus), n_bad)
    assert_same_rows(rows(tmp_path / "pool.parquet"), rows(tmp_path / "inline.parquet"))


@pytest.mark.slow
def test_ray_engine_gives_the_same_rows_as_the_local_engine(
    models: Path, corpus: list[Contact], tmp_path: Path
) -> None:
    ray = pytest.importorskip("ray")
    source = tmp_path / "in.csv"
    write_contacts(corpus[:40], source)
    with source.open("a", encoding="utf-8") as fh:
        fh.write('x-1,,chat,,,,,,,,,,,en,"Robot: hello",,,,,,,,,\n')
    local = run_label_job(job(models, [source], tmp_path / "local.parquet"))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        remote = run_label_job(job(models, [source], tmp_path / "ray.parquet", engine="ray", workers=2, threads=1))
    finally:
        ray.shutdown()
    assert (
        (remote.records, remote.outputs, remote.rejects) == (local.records, local.outputs, local.rejects) == (41, 40, 1)
    )
    assert remote.engine == "ray"
    assert_same_rows(rows(tmp_path / "ray.parquet"), rows(tmp_path / "local.parquet"))
    assert (tmp_path / "ray.rejects.jsonl").read_text() == (tmp_path / "local.rejects.jsonl").read_text()


# -- the command and the predictor -------------------------------------------------------------------
def test_label_command(models: Path, corpus: list[Contact], tmp_path: Path) -> None:
    write_contacts(corpus[:12], tmp_path / "in.parquet")
    parser = argparse.ArgumentParser()
    register_label(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [
            *("label", str(tmp_path / "in.parquet"), "-o", str(tmp_path / "out.parquet"), "--model", "tiny"),
            *("--models-dir", str(models), "--no-progress", "--top-k", "2", "--rejects", str(tmp_path / "bad.jsonl")),
        ]
    )
    assert args.handler(args) == 0
    out = rows(tmp_path / "out.parquet")
    assert len(out) == 12 and all(len(r["reasons"]) == 2 for r in out)
    assert (tmp_path / "bad.jsonl").read_text() == ""


def test_the_label_command_fails_when_it_labels_nothing(models: Path, tmp_path: Path) -> None:
    (tmp_path / "in.jsonl").write_text('{"contact_id": "x1", "channel": "fax", "turns": []}\nnot json\n')
    parser = argparse.ArgumentParser()
    register_label(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [*("label", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "out.parquet"), "--model", "tiny"),
         *("--models-dir", str(models), "--no-progress")]
    )  # fmt: skip
    assert args.handler(args) == 1
    assert len((tmp_path / "out.rejects.jsonl").read_text().splitlines()) == 2


def test_repeated_contact_ids_are_labelled_and_counted(
    models: Path, corpus: list[Contact], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The same contact in two inputs: every record gets its row, and the job says which ids repeat,
    since per-contact reports need them unique."""
    write_contacts(corpus[:5], tmp_path / "a.jsonl")
    write_contacts(corpus[3:8], tmp_path / "b.jsonl")
    with caplog.at_level("WARNING", logger="dispo.batch.job"):
        summary = run_label_job(
            job(models, [str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl")], tmp_path / "o.parquet")
        )
    assert (summary.outputs, summary.repeated_ids) == (10, 2)
    assert "2 contact ids appear more than once" in caplog.text and corpus[3].contact_id in caplog.text
    again = run_label_job(job(models, [str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl")], tmp_path / "o.parquet"))
    assert again.repeated_ids == 2  # a finished job reports the same


def test_transcript_files_of_one_name_in_two_folders_are_two_contacts(models: Path, tmp_path: Path) -> None:
    for day in ("day1", "day2"):
        (tmp_path / "calls" / day).mkdir(parents=True)
        (tmp_path / "calls" / day / "ab.txt").write_text(f"Agent: hello\nCustomer: my {day} order is late\n")
    summary = run_label_job(job(models, [str(tmp_path / "calls")], tmp_path / "o.parquet", platform="speaker_text"))
    assert (summary.outputs, summary.repeated_ids) == (2, 0)
    assert sorted(r["contact_id"] for r in rows(tmp_path / "o.parquet")) == ["day1/ab", "day2/ab"]


def test_job_config_is_checked(tmp_path: Path) -> None:
    from dispo.errors import ConfigError

    with pytest.raises(ConfigError, match="Parquet"):
        LabelJob(inputs=["x.jsonl"], output=tmp_path / "out.csv")
    with pytest.raises(ConfigError, match="engine"):
        LabelJob(inputs=["x.jsonl"], output=tmp_path / "out.parquet", engine="spark")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="chunk_size"):
        LabelJob(inputs=["x.jsonl"], output=tmp_path / "out.parquet", chunk_size=0)


def test_packed_encoding_equals_the_padded_batch(models: Path, corpus: list[Contact]) -> None:
    predictor = Predictor.load("tiny", root=models)
    prepared = [predictor.featurizer.prepare(c) for c in corpus[:20]]
    batch = predictor.featurizer.batch(prepared)
    with torch.inference_mode():
        plain = predictor.model.encode_turns(batch.input_ids, batch.attention_mask)
        packed = encode_packed(predictor.model.encode_turns, batch.input_ids, batch.attention_mask, max_tokens=64)
    assert packed.shape == plain.shape
    assert torch.allclose(packed, plain, atol=1e-5)


# -- durable jobs for the service --------------------------------------------------------------------
def test_batch_jobs_run_and_survive_a_restart(models: Path, corpus: list[Contact], tmp_path: Path) -> None:
    from dispo.batch.queue import BatchJobs, BatchJobsConfig, JobNotDoneError, JobNotFoundError

    source = tmp_path / "upload.jsonl"
    n_bad = write_with_bad_records(corpus, source)
    config = BatchJobsConfig(root=tmp_path / "jobs", models_dir=models, default_model="tiny", chunk_size=16)
    service = BatchJobs(config)
    with source.open("rb") as fh:
        queued = service.submit("../../etc/upload.jsonl", fh)
    assert queued.state == "queued" and queued.input_name == "upload.jsonl"
    with pytest.raises(JobNotDoneError):
        service.result_path(queued.job_id)
    with pytest.raises(JobNotFoundError):
        service.get("0" * 32)

    # The service dies while the job runs: two chunks are done, the claim names a dead process.
    def die_after_two(progress: LabelProgress) -> None:
        if progress.records_done >= 32:
            raise CrashError

    folder = tmp_path / "jobs" / queued.job_id
    with pytest.raises(CrashError):
        run_label_job(
            job(models, [folder / "input" / "upload.jsonl"], folder / "output.parquet", chunk_size=16),
            progress_callback=die_after_two,
        )
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (folder / "claim").write_text(json.dumps({"pid": int(dead.stdout), "boot": "", "token": "earlier"}))
    status = json.loads((folder / "status.json").read_text())
    (folder / "status.json").write_text(json.dumps({**status, "state": "running", "attempts": 1}))

    restarted = BatchJobs(config)
    assert restarted.run_next() is None  # a running job is not taken by another worker
    assert restarted.recover() == [queued.job_id]
    done = restarted.run_next()
    assert done is not None and done.state == "done" and done.attempts == 2
    assert (done.records_done, done.outputs, done.rejects) == (len(corpus) + n_bad, len(corpus), n_bad)
    assert done.summary["resumed_chunks"] == 2
    out = rows(restarted.result_path(queued.job_id))
    assert [r["contact_id"] for r in out] == [c.contact_id for c in corpus]
    assert len(restarted.rejects_path(queued.job_id).read_text().splitlines()) == n_bad
    assert restarted.get(queued.job_id).to_dict()["state"] == "done"


def test_batch_job_failures_are_reported(models: Path, tmp_path: Path) -> None:
    from dispo.batch.queue import BatchJobs, BatchJobsConfig
    from dispo.io import InputFormatError

    service = BatchJobs(BatchJobsConfig(root=tmp_path / "jobs", models_dir=models, default_model="tiny"))
    with pytest.raises(InputFormatError):
        service.submit("contacts.xlsx", b"")
    queued = service.submit("contacts.csv", b"id,text\n1,hello\n", model="missing-model")
    failed = service.run_next()
    assert failed is not None and failed.job_id == queued.job_id and failed.state == "failed"
    assert "missing-model" in (failed.error or "")


def test_a_contact_abandoned_in_the_queue_gets_a_row_without_a_prediction(
    models: Path, corpus: list[Contact], tmp_path: Path
) -> None:
    """Nothing to classify, but the queue measures count it: its row carries the queue events."""
    abandoned = Contact.model_validate(
        {"contact_id": "gone", "queued_at": "2026-03-02T09:00:00Z", "abandoned": True, "turns": []}
    )
    write_contacts([corpus[0], abandoned, corpus[1]], tmp_path / "in.csv")
    summary = run_label_job(job(models, [tmp_path / "in.csv"], tmp_path / "out.parquet"))
    assert (summary.records, summary.outputs, summary.rejects) == (3, 3, 0)
    out = {r["contact_id"]: r for r in rows(tmp_path / "out.parquet")}
    assert out["gone"]["abandoned"] is True and out["gone"]["n_turns"] == 0
    assert out["gone"]["reason"] is None and out["gone"]["model_version"] is None
    assert out["gone"]["queued_at"] is not None
    assert out[corpus[0].contact_id]["reason"] is not None and out[corpus[1].contact_id]["reason"] is not None
