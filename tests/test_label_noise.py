"""Training on agent codes: label sources, confident learning on the codes, estimated agent accuracy."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from dispo.contact import Contact, Labels
from dispo.errors import ConfigError
from dispo.io import write_contacts
from dispo.model.baseline import contact_text
from dispo.model.bundle import AGENT_ACCURACY_FILE, LABEL_ISSUES_FILE
from tests.conftest import make_contact
from tests.factories import make_tiny_base_model
from training.agent_accuracy import code_posteriors, estimate_agent_accuracy
from training.config import DataConfig, RunConfig
from training.corpus.builder import CorpusBuilder, CorpusConfig
from training.labelsources import label_priority, resolve_labels
from training.noise import OutOfFold, find_label_issues, judge_labels, prune
from training.noise_correction import column_stochastic
from training.pipeline import TrainedBundle, train_model


def coded(i: int, gold: Labels | None, agent: Labels | None, **fields: object) -> Contact:
    return make_contact(i).model_copy(update={"labels": gold, "agent_labels": agent, **fields})


GOLD = Labels(reason="refund_status", outcome="resolved", sentiment="neutral", upsell=False)
AGENT = Labels(reason="return_request", outcome="escalated")


def test_the_first_source_with_a_label_wins_per_task() -> None:
    contacts = [coded(0, GOLD, AGENT), coded(1, None, AGENT), coded(2, Labels(sentiment="negative"), AGENT)]
    resolved = resolve_labels(contacts, priority=["labels", "agent"])
    labels = [c.labels for c in resolved.contacts]
    assert labels[0] == GOLD and resolved.sources[0]["reason"] == "labels"
    assert labels[1] is not None and (labels[1].reason, labels[1].outcome, labels[1].sentiment) == (
        "return_request",
        "escalated",
        None,
    )
    assert labels[2] is not None and (labels[2].reason, labels[2].sentiment) == ("return_request", "negative")
    assert resolved.sources[2] == {"reason": "agent", "outcome": "agent", "sentiment": "labels"}
    assert resolved.counts() == {
        "reason": {"agent": 2, "labels": 1},
        "outcome": {"agent": 2, "labels": 1},
        "sentiment": {"labels": 2},
        "upsell": {"labels": 1},
    }
    only_agent = resolve_labels(contacts, priority=["agent"])
    assert [c.labels.reason for c in only_agent.contacts if c.labels] == ["return_request"] * 3
    assert only_agent.contacts[0].labels is not None and only_agent.contacts[0].labels.sentiment is None


def test_audited_labels_win_unless_the_list_places_them() -> None:
    contacts = [coded(0, GOLD, AGENT), coded(1, None, AGENT)]
    audit = coded(0, Labels(reason="damaged_item", outcome="callback_scheduled", sentiment="positive"), None)
    audit = audit.model_copy(update={"metadata": {"audit": {"auditor": "qa1"}}})
    new = coded(9, Labels(reason="order_status", outcome="resolved"), None)
    resolved = resolve_labels(contacts, [audit, new], priority=["agent"])
    first = resolved.contacts[0]
    assert first.labels is not None and (first.labels.reason, first.labels.outcome) == (
        "damaged_item",
        "callback_scheduled",
    )
    assert first.labels.sentiment is None  # an audit labels reason and outcome only
    assert first.metadata["audit"] == {"auditor": "qa1"}
    assert resolved.sources[0] == {"reason": "audit", "outcome": "audit"}
    assert [c.contact_id for c in resolved.contacts] == [contacts[0].contact_id, contacts[1].contact_id, new.contact_id]
    assert resolved.sources[2] == {"reason": "audit", "outcome": "audit"}
    # Placed last, the audit only fills what the agent code leaves empty.
    last = resolve_labels(contacts, [audit], priority=["agent", "audit"])
    assert last.contacts[0].labels is not None and last.contacts[0].labels.reason == "return_request"


@pytest.mark.parametrize(
    ("names", "message"),
    [([], "at least one"), (["labels", "gold"], r"unknown sources \['gold'\]"), (["agent", "agent"], "twice")],
)
def test_bad_label_priorities_fail_fast(names: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        label_priority(names, audits=False)
    with pytest.raises(ConfigError, match=message):
        DataConfig(train=["x.jsonl"], labels=names)
    assert DataConfig(train=["x.jsonl"], labels="labels, agent").labels == ["labels", "agent"]  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def noisy_corpus() -> list[Contact]:
    """Built contacts whose agents code 30% of contacts wrongly (the builder's realistic mistakes)."""
    return [b.contact for b in CorpusBuilder(CorpusConfig(n_contacts=900, seed=11, agent_error_rate=0.3)).build()]


def test_confident_learning_flags_wrong_agent_codes_and_only_those(noisy_corpus: list[Contact]) -> None:
    resolved = resolve_labels(noisy_corpus, priority=["agent"])
    report = find_label_issues(resolved.contacts, resolved.sources, reader=OutOfFold(folds=3, max_features=5000))
    gold = {c.contact_id: c.labels for c in noisy_corpus}
    for task in ("reason", "outcome"):
        judged = [i for i in report.issues if i.task == task]
        assert len(judged) == report.judged[task] == len(noisy_corpus)
        wrong = [i.given != getattr(gold[i.contact_id], task) for i in judged]
        flags = [i.issue for i in judged]
        flagged_wrong = sum(w for w, f in zip(wrong, flags, strict=True) if f) / max(1, sum(flags))
        unflagged_wrong = sum(w for w, f in zip(wrong, flags, strict=True) if not f) / max(1, len(flags) - sum(flags))
        assert sum(flags) == report.flagged[task] > 0
        # Even from 900 contacts, a flagged code is far more likely to be wrong than one left alone
        # (how well it does at scale is bench/label_noise.py's job).
        assert flagged_wrong > 2 * unflagged_wrong, (task, flagged_wrong, unflagged_wrong)
    # Most likely wrong first; a flagged code is, on the whole, given less chance of being right.
    chances = [i.estimated_right for i in report.issues]
    assert chances == sorted(chances) and all(0.0 <= c <= 1.0 for c in chances)
    flagged_chance = np.mean([i.estimated_right for i in report.issues if i.issue])
    assert flagged_chance < 0.5 < np.mean([i.estimated_right for i in report.issues if not i.issue])
    # Trusted labels are never judged, and pruning removes only the flagged task's label.
    trusted = resolve_labels(noisy_corpus[:100], priority=["labels"])
    assert find_label_issues(trusted.contacts, trusted.sources, reader=OutOfFold(folds=3)).issues == []
    pruned = {c.contact_id: c for c in prune(resolved.contacts, report)}
    for issue in [i for i in report.issues if i.issue][:20]:
        labels = pruned[issue.contact_id].labels
        assert labels is not None and getattr(labels, issue.task) is None
        other = "outcome" if issue.task == "reason" else "reason"
        original = next(c for c in resolved.contacts if c.contact_id == issue.contact_id).labels
        if not any(i.issue and i.task == other and i.contact_id == issue.contact_id for i in report.issues):
            assert getattr(labels, other) == getattr(original, other)


def test_a_history_too_small_to_read_out_of_fold_keeps_its_codes_and_says_so(
    noisy_corpus: list[Contact], caplog: pytest.LogCaptureFixture
) -> None:
    """20 contacts over 27 reasons: no reason has a contact in each of 5 folds, so the reasons are not
    judged (kept as given, with a warning), while the outcomes, with enough of each, are."""
    from training.noise import handle_label_noise

    resolved = resolve_labels(noisy_corpus[:20], priority=["agent"])
    for method in ("prune", "correct"):
        with caplog.at_level("WARNING", logger="training.noise"):
            outcome = handle_label_noise(resolved.contacts, resolved.sources, method=method, validation=[],
                                         reader=OutOfFold(folds=5, max_features=2000))  # fmt: skip
        assert outcome.report.unjudged == {"reason": 20} and outcome.report.judged.get("outcome") == 20
        assert "reason: not judged" in caplog.text
        assert [c.labels.reason for c in outcome.contacts] == [c.labels.reason for c in resolved.contacts]  # type: ignore[union-attr]


def test_a_bad_model_name_is_refused_before_any_work(tmp_path: Path) -> None:
    from dispo.model.bundle import BundleError

    run = RunConfig.from_sections({"data": {"train": [str(tmp_path / "missing.jsonl")]}})
    with pytest.raises(BundleError, match=r"model name '\.\./escape'"):
        train_model(run, "../escape", root=tmp_path / "models")
    assert not (tmp_path / "escape").exists() and not (tmp_path / "models").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [({"folds": 1}, "folds must be >= 2"), ({"max_features": 0}, "max_features must be positive"),
     ({"jobs": 0}, "jobs must be positive")],
)  # fmt: skip
def test_bad_out_of_fold_options_fail_fast(options: dict[str, int], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        OutOfFold(**options)


def test_folds_fitted_in_parallel_give_the_same_probabilities(noisy_corpus: list[Contact]) -> None:
    from training.noise import out_of_fold_probabilities

    texts = [contact_text(c) for c in noisy_corpus[:120]]
    y = np.array([sorted({str(c.labels.outcome) for c in noisy_corpus}).index(str(c.labels.outcome))
                  for c in noisy_corpus[:120] if c.labels is not None])  # fmt: skip
    one = out_of_fold_probabilities(texts, y, reader=OutOfFold(folds=3, max_features=2000, jobs=1))
    two = out_of_fold_probabilities(texts, y, reader=OutOfFold(folds=3, max_features=2000, jobs=2))
    assert OutOfFold(folds=3, jobs=8).parallel_folds == 3
    np.testing.assert_allclose(one, two)


def test_estimated_agent_accuracy_sums_each_codes_chance_at_confident_learnings_level(
    noisy_corpus: list[Contact],
) -> None:
    resolved = resolve_labels(noisy_corpus, priority=["agent"])
    report = find_label_issues(resolved.contacts, resolved.sources, reader=OutOfFold(folds=3, max_features=5000))
    estimates = estimate_agent_accuracy(noisy_corpus, report)
    # a small history: said in agent_accuracy.json (and the card), since the estimate then reads low
    assert f"estimated from {min(report.judged.values())} judged codes" in estimates["note"]
    overall = estimates["groups"]["overall"]["all"]
    for task in ("reason", "outcome"):
        assert overall[task]["n"] == len(noisy_corpus)
        # The population's estimate is confident learning's: a flagged code wrong, a suspect one half.
        unflagged = len(noisy_corpus) - report.flagged[task] - report.suspects[task] / 2
        assert overall[task]["k"] == pytest.approx(unflagged, abs=0.005 * len(noisy_corpus))
        assert overall[task]["low"] <= overall[task]["value"] <= overall[task]["high"]
        assert 0.05 <= estimates["temperature"][task] <= 2.0
    scores: dict[str, float] = {}
    for issue in report.issues:  # a contact's code is right when each judged task is
        scores[issue.contact_id] = scores.get(issue.contact_id, 1.0) * issue.estimated_right
    assert overall["code"]["k"] == pytest.approx(sum(scores.values()), abs=0.01)
    providers = estimates["groups"]["provider"]
    assert set(providers) == {c.provider for c in noisy_corpus}
    assert sum(p["code"]["n"] for p in providers.values()) == len(noisy_corpus)
    agents = estimates["groups"]["agent_id"]
    some = next(iter(agents))
    own = [c for c in noisy_corpus if c.agent_id == some]
    assert agents[some]["reason"]["n"] == len(own)
    reasons = {i.contact_id: i.estimated_right for i in report.issues if i.task == "reason"}
    assert agents[some]["reason"]["k"] == pytest.approx(sum(reasons[c.contact_id] for c in own), abs=0.01)
    # A code is whole only with both parts judged: with the outcomes unjudged, no "code" estimate.
    report.issues = [i for i in report.issues if i.task == "reason"]
    reasons_only = estimate_agent_accuracy(noisy_corpus, report)["groups"]["overall"]["all"]
    assert "code" not in reasons_only and reasons_only["reason"]["n"] == len(noisy_corpus)


def test_one_coin_em_gives_each_agent_its_own_accuracy() -> None:
    """Two agents, 95% and 65% right, each wrong code one class off; the classifier is the same weak
    reader for both. A prior shared by both agents pulls them together; each agent's own prior keeps
    them apart, close to the truth."""
    rng = np.random.default_rng(0)
    n, k = 4000, 6
    true = rng.integers(0, k, n)
    agents = np.array(["good"] * (n // 2) + ["poor"] * (n // 2))
    accuracy = np.where(agents == "good", 0.95, 0.65)
    right = rng.random(n) < accuracy
    given = np.where(right, true, (true + 1) % k)
    logits = rng.normal(0.0, 1.0, (n, k)) + 2.0 * np.eye(k)[true]
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    noise = np.eye(k) * 0.8 + np.roll(np.eye(k), 1, axis=0) * 0.2  # P(code i | true j): j -> j + 1
    level = float(right.mean())
    own = code_posteriors(probabilities, given, list(agents), level=level, noise_matrix=noise)
    shared = code_posteriors(probabilities, given, ["all"] * n, level=level, noise_matrix=noise)
    assert own.right.mean() == pytest.approx(level, abs=0.005)
    for name, truth in (("good", 0.95), ("poor", 0.65)):
        mine = agents == name
        assert abs(own.right[mine].mean() - right[mine].mean()) < 0.03, name
        assert abs(own.right[mine].mean() - truth) < abs(shared.right[mine].mean() - truth), name
        assert np.ptp(own.accuracy[mine]) == 0 and abs(own.accuracy[mine][0] - truth) < 0.03, name  # one per agent
    # A newcomer with one code is not judged on it alone: its prior starts at the population's level.
    newcomer = code_posteriors(probabilities, given, [*agents[:-1], "new"], level=level, noise_matrix=noise)
    assert 1e-4 < newcomer.right[-1] < 0.999  # alone, EM would push it to 0 or 1 (here 1e-299)
    with pytest.raises(ValueError, match="4000 codes, 3 probability rows"):
        code_posteriors(probabilities[:3], given, list(agents), level=level, noise_matrix=noise)


def train_on_agent_codes(tmp_path: Path, *, label_noise: str, epochs: int = 1) -> tuple[list[Contact], TrainedBundle]:
    """160 built contacts with 30% agent-code errors, trained by ``dispo train --labels agent``."""
    contacts = [b.contact for b in CorpusBuilder(CorpusConfig(n_contacts=160, seed=3, agent_error_rate=0.3)).build()]
    write_contacts(contacts, tmp_path / "train.jsonl")
    base = make_tiny_base_model(tmp_path / "base", [t.text for c in contacts for t in c.turns])
    run = RunConfig.from_sections(
        {
            "data": {"train": [str(tmp_path / "train.jsonl")], "labels": ["agent"]},
            "model": {"base_model": str(base), "max_turn_tokens": 24, "token_budget": 96, "max_turns": 6},
            "training": {"epochs": epochs, "batch_size": 16, "label_noise": label_noise, "label_noise_folds": 3},
        }
    )
    bundle = train_model(run, f"agent-{label_noise}", root=tmp_path / "models")
    return contacts, bundle


def test_dispo_train_on_agent_codes_prunes_and_records_the_sources(tmp_path: Path) -> None:
    contacts, bundle = train_on_agent_codes(tmp_path, label_noise="prune")
    data = json.loads((bundle.path / "data.json").read_text())
    assert data["label_priority"] == ["agent"]
    assert data["label_sources"]["reason"] == {"agent": len(contacts)}
    noise = data["label_noise"]
    assert noise["method"] == "prune" and noise["judged"] == {"reason": len(contacts), "outcome": len(contacts)}
    kept = sum(data["label_counts"]["reason"].values())
    assert kept == len(contacts) - noise["flagged"]["reason"] == len(contacts) - noise["pruned"]["reason"]
    issues = [json.loads(line) for line in (bundle.path / LABEL_ISSUES_FILE).read_text().splitlines()]
    assert len(issues) == 2 * len(contacts) and sum(i["issue"] for i in issues) == sum(noise["flagged"].values())
    assert "provider" in json.loads((bundle.path / AGENT_ACCURACY_FILE).read_text())["groups"]
    card = (bundle.path / "README.md").read_text()
    assert "label sources (agent" in card and "agent codes judged by confident learning" in card
    assert f"flagged agent codes dropped (not trained on): reason {noise['pruned']['reason']}" in card
    manifest = json.loads((bundle.path / "bundle.json").read_text())
    assert {LABEL_ISSUES_FILE, AGENT_ACCURACY_FILE} <= set(manifest["files"])  # part of the version, listed in it
    assert all(0.0 <= i["estimated_right"] <= 1.0 for i in issues)


def test_correction_changes_agent_codes_only_and_counts_them(noisy_corpus: list[Contact]) -> None:
    """The mechanics on contacts. Whether it helps depends on the data: on these 900 contacts it leaves
    reason codes slightly worse (785 right -> 777) and outcome codes better (831 -> 846), which is why
    ``auto`` measures before it applies it; tests/test_noise_correction.py shows it recovering flipped
    labels."""
    from training.noise import correct

    agent = resolve_labels(noisy_corpus, priority=["agent"])
    trusted = set(range(0, len(noisy_corpus), 5))  # every fifth contact: its gold label, trusted
    contacts = [noisy_corpus[i] if i in trusted else c for i, c in enumerate(agent.contacts)]
    sources = [{"reason": "labels", "outcome": "labels"} if i in trusted else s for i, s in enumerate(agent.sources)]
    corrected, changed, _ = correct(contacts, sources, reader=OutOfFold(folds=3))
    for task in ("reason", "outcome"):
        moved = [i for i, (a, b) in enumerate(zip(contacts, corrected, strict=True))
                 if getattr(a.labels, task) != getattr(b.labels, task)]  # fmt: skip
        assert changed[task] == len(moved) > 0 and not trusted & set(moved), task
    assert all(corrected[i] == contacts[i] for i in trusted)
    assert all(
        a.model_dump(exclude={"labels"}) == b.model_dump(exclude={"labels"})
        for a, b in zip(contacts, corrected, strict=True)
    )


def test_correct_prune_drops_the_flagged_codes_the_correction_kept(noisy_corpus: list[Contact]) -> None:
    """Each agent code ends one of three ways: replaced by the correction (kept, corrected), dropped
    (flagged, and the correction left it as it was), or as given."""
    from training.noise import correct, handle_label_noise

    agent = resolve_labels(noisy_corpus[:450], priority=["agent"])
    reader = OutOfFold(folds=3, max_features=5000)
    outcome = handle_label_noise(agent.contacts, agent.sources, method="correct-prune", reader=reader)
    corrected, _, _ = correct(agent.contacts, agent.sources, reader=reader)
    flagged = {(i.contact_id, i.task) for i in outcome.report.issues if i.issue}
    assert outcome.method == "correct-prune" and sum(outcome.pruned.values()) > 0
    for task in ("reason", "outcome"):
        dropped = 0
        for given, fixed, trained in zip(agent.contacts, corrected, outcome.contacts, strict=True):
            code, new, final = (getattr(c.labels, task) for c in (given, fixed, trained))
            if (given.contact_id, task) in flagged and new == code:
                assert final is None
                dropped += 1
            else:
                assert final == new
        assert dropped == outcome.pruned[task] > 0, task
        assert outcome.summary["pruned"][task] == dropped and outcome.corrected[task] > 0


def test_auto_scores_none_prune_and_correct_on_trusted_labels(noisy_corpus: list[Contact]) -> None:
    from training.noise import handle_label_noise

    train, validation = noisy_corpus[:450], noisy_corpus[800:]
    agent = resolve_labels(train, priority=["agent"])
    outcome = handle_label_noise(
        agent.contacts,
        agent.sources,
        method="auto",
        reader=OutOfFold(folds=3, max_features=5000),
        validation=validation,
    )
    assert set(outcome.scores) == {"none", "prune", "correct", "correct-prune"} and outcome.chosen_by == "validation"
    chosen = dict(part.split(": ") for part in outcome.method.split(", ")) if ":" in outcome.method else {}
    for task in ("reason", "outcome"):  # per task, the method that reads the trusted labels best
        name = chosen.get(task, outcome.method)
        assert outcome.scores[name][task] == max(s[task] for s in outcome.scores.values())
        by_id = {c.contact_id: c for c in agent.contacts}
        if name == "none":  # the codes as given
            assert all(getattr(c.labels, task) == getattr(by_id[c.contact_id].labels, task) for c in outcome.contacts)
    assert outcome.summary["method"] == outcome.method and "corrected" in outcome.summary
    # the whole handling is timed (auto fits three baselines after judging), the judging apart
    assert outcome.summary["seconds"] > outcome.summary["judging_seconds"] > 0
    corrected_tasks = {t for t in ("reason", "outcome") if chosen.get(t, outcome.method).startswith("correct")}
    assert set(outcome.corrected) <= corrected_tasks
    expected = "label_noise: expected one of none, prune, correct, correct-prune, auto, forward, correct-soft"
    with pytest.raises(ConfigError, match=expected):
        handle_label_noise(agent.contacts, agent.sources, method="relabel")


def test_auto_can_correct_one_task_and_prune_the_other(
    noisy_corpus: list[Contact], monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the trusted labels favour correction for reasons and pruning for outcomes, each task
    trains on what won for it."""
    import training.noise as noise

    made: dict[str, list[Contact]] = {}
    real_correct, real_prune = noise.correct, noise.prune

    def correct(*args: Any, **kwargs: Any) -> tuple[list[Contact], dict[str, int], noise.Posteriors]:
        made["correct"], changed, posteriors = real_correct(*args, **kwargs)
        return made["correct"], changed, posteriors

    def prune(*args: Any, **kwargs: Any) -> list[Contact]:
        pruned = real_prune(*args, **kwargs)
        made.setdefault("correct-prune" if kwargs.get("unless_changed") else "prune", pruned)
        return pruned

    def score(train: Sequence[Contact], validation: Sequence[Contact], max_features: int) -> dict[str, float]:
        if train is made.get("correct"):
            return {"reason": 0.9, "outcome": 0.5}
        return {"reason": 0.5, "outcome": 0.9} if train is made.get("prune") else {"reason": 0.1, "outcome": 0.1}

    monkeypatch.setattr(noise, "correct", correct)
    monkeypatch.setattr(noise, "prune", prune)
    monkeypatch.setattr(noise, "_baseline_score", score)
    agent = resolve_labels(noisy_corpus[:300], priority=["agent"])
    outcome = noise.handle_label_noise(
        agent.contacts,
        agent.sources,
        method="auto",
        reader=OutOfFold(folds=3, max_features=5000),
        validation=noisy_corpus[800:],
    )
    assert outcome.method == "reason: correct, outcome: prune" and set(outcome.corrected) <= {"reason"}
    for mixed, fixed, pruned in zip(outcome.contacts, made["correct"], made["prune"], strict=True):
        assert mixed.labels is not None and fixed.labels is not None and pruned.labels is not None
        assert mixed.labels.reason == fixed.labels.reason and mixed.labels.outcome == pruned.labels.outcome
    assert any(m.labels != p.labels for m, p in zip(outcome.contacts, made["prune"], strict=True))


@pytest.mark.parametrize("method", ["correct", "correct-prune"])
def test_dispo_train_can_correct_agent_codes_and_says_so_in_the_card(tmp_path: Path, method: str) -> None:
    _, bundle = train_on_agent_codes(tmp_path, label_noise=method)
    noise = json.loads((bundle.path / "data.json").read_text())["label_noise"]
    assert noise["method"] == method and noise["chosen_by"] == "config"
    assert set(noise["corrected"]) == {"reason", "outcome"} and sum(noise["corrected"].values()) > 0
    card = (bundle.path / "README.md").read_text()
    assert "replaced by their posterior true label (forward correction): reason " in card
    dropped = "flagged agent codes dropped (not trained on): "
    if method == "correct":
        assert not noise["pruned"] and dropped not in card
    else:
        assert sum(noise["pruned"].values()) > 0 and dropped in card


def test_forward_gives_the_fine_tune_the_noise_matrix_over_the_agent_codes_only(noisy_corpus: list[Contact]) -> None:
    from training.noise import handle_label_noise

    agent = resolve_labels(noisy_corpus, priority=["agent"])
    trusted = set(range(0, len(noisy_corpus), 5))
    contacts = [noisy_corpus[i] if i in trusted else c for i, c in enumerate(agent.contacts)]
    sources = [{"reason": "labels", "outcome": "labels"} if i in trusted else s for i, s in enumerate(agent.sources)]
    outcome = handle_label_noise(contacts, sources, method="forward", reader=OutOfFold(folds=3, max_features=5000))
    assert outcome.contacts == contacts  # the codes are kept as given
    labels = {"reason": [*sorted({str(c.labels.reason) for c in contacts if c.labels}), "never_coded"],
              "outcome": sorted({str(c.labels.outcome) for c in contacts if c.labels})}  # fmt: skip
    forward = outcome.forward_loss(labels)
    assert forward is not None
    agent_ids = frozenset(c.contact_id for i, c in enumerate(contacts) if i not in trusted)
    for task in ("reason", "outcome"):
        matrix = forward.matrices[task]
        assert forward.noisy[task] == agent_ids
        assert matrix.shape == (len(labels[task]),) * 2 and np.allclose(matrix.sum(axis=0), 1.0)
        assert 0.5 < float(np.mean(np.diag(matrix))) < 0.99  # 30% of codes wrong: T is far from the identity
    assert forward.matrices["reason"][-1, -1] == 1.0  # a label no code used is taken as coded right
    # T is the agents' alone: the trusted fifth (gold, always "right") would raise its diagonal
    every = judge_labels([contact_text(c) for c in contacts], [str(c.labels.reason) for c in contacts if c.labels],
                         reader=OutOfFold(folds=3, max_features=5000))  # fmt: skip
    assert np.mean(np.diag(column_stochastic(every.noise_matrix))) > np.mean(
        np.diag(forward.matrices["reason"][:-1, :-1])
    )
    prune_outcome = handle_label_noise(contacts, sources, method="prune", reader=OutOfFold(folds=3, max_features=5000))
    assert prune_outcome.forward_loss(labels) is None


def test_forward_keeps_every_agent_code_and_trains_through_the_noise_matrix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dispo.model.modeling as modeling

    noisy_rows: list[int] = []
    original = modeling.forward_corrected_nll

    def counting(logits: Any, target: Any, log_matrix: Any, noisy: Any) -> Any:
        noisy_rows.append(int(noisy.sum()))
        return original(logits, target, log_matrix, noisy)

    monkeypatch.setattr(modeling, "forward_corrected_nll", counting)
    contacts, bundle = train_on_agent_codes(tmp_path, label_noise="forward")
    split = json.loads((bundle.path / "data.json").read_text())
    # every training step's reason and outcome losses went through T, over every (agent-coded) row
    assert len(noisy_rows) == 2 * -(-split["n_train"] // 16) and sum(noisy_rows) == 2 * split["n_train"]
    data = json.loads((bundle.path / "data.json").read_text())
    noise = data["label_noise"]
    assert noise["method"] == "forward" and not noise["corrected"] and not noise["pruned"]
    assert sum(data["label_counts"]["reason"].values()) == len(contacts)  # nothing dropped or changed
    card = (bundle.path / "README.md").read_text()
    assert f"learning through cleanlab's noise matrix (forward loss correction): reason {len(contacts)}" in card


def test_correct_soft_teaches_each_corrected_code_its_posterior(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The labels are those ``correct`` gives (the argmax); the fine-tune's reason and outcome losses
    read every agent-coded row's distribution, whose top label is that argmax."""
    import dispo.model.modeling as modeling

    seen: list[tuple[int, int, bool]] = []  # per call: rows with a distribution, labelled rows, argmax = label
    original = modeling.soft_target_cross_entropy

    def counting(logits: Any, target: Any, distributions: Any, has: Any, **kwargs: Any) -> Any:
        labelled = target != -100
        agrees = bool((distributions[has].argmax(dim=-1) == target[has]).all())
        seen.append((int((has & labelled).sum()), int(labelled.sum()), agrees))
        return original(logits, target, distributions, has, **kwargs)

    monkeypatch.setattr(modeling, "soft_target_cross_entropy", counting)
    contacts, bundle = train_on_agent_codes(tmp_path, label_noise="correct-soft")
    data = json.loads((bundle.path / "data.json").read_text())
    noise = data["label_noise"]
    assert noise["method"] == "correct-soft" and set(noise["corrected"]) == {"reason", "outcome"}
    assert noise["soft_targets"] == {"reason": len(contacts), "outcome": len(contacts)}  # every code is the agent's
    assert not noise["pruned"]
    assert len(seen) == 2 * -(-data["n_train"] // 16) and all(agrees for *_, agrees in seen)
    assert sum(rows for rows, *_ in seen) == sum(labelled for _, labelled, _ in seen) == 2 * data["n_train"]
    card = (bundle.path / "README.md").read_text()
    assert (
        "the fine-tune learns each corrected agent code from its whole posterior, not its argmax: "
        f"reason {len(contacts)}, outcome {len(contacts)}" in card
    )


def test_correct_refine_relabels_the_agent_codes_between_epochs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After epoch 1 every agent-coded label is refined from its posterior and the model's reading
    (here replaced by a rule that is easy to check: the next label of the posterior's argmax), and
    epoch 2 and the bundled baseline learn the refined labels."""
    import training.trainer as trainer_module

    refined_from: list[tuple[int, int]] = []  # per call: rows, width

    def next_label(prior: Any, logits: Any) -> Any:
        assert prior.shape == logits.shape
        refined_from.append(prior.shape)
        return (prior.argmax(axis=1) + 1) % prior.shape[1]

    targets_seen: list[Any] = []
    original_loss = trainer_module.multitask_loss

    def recording(logits: Any, targets: Any, *args: Any, **kwargs: Any) -> Any:
        targets_seen.append({task: values.clone() for task, values in targets.items()})
        return original_loss(logits, targets, *args, **kwargs)

    monkeypatch.setattr(trainer_module, "refine_labels", next_label)
    monkeypatch.setattr(trainer_module, "multitask_loss", recording)
    _, bundle = train_on_agent_codes(tmp_path, label_noise="correct-refine", epochs=2)
    data = json.loads((bundle.path / "data.json").read_text())
    noise = data["label_noise"]
    n_train = data["n_train"]
    assert noise["method"] == "correct-refine" and set(noise["corrected"]) == {"reason", "outcome"}
    assert noise["soft_targets"] == {}  # the posteriors are priors here, not targets
    assert len(refined_from) == 2 and all(rows == n_train for rows, _ in refined_from)  # once, after epoch 1
    assert noise["refined"] == {"reason": [n_train], "outcome": [n_train]}  # the rule changes every label
    steps = -(-n_train // 16)
    first = torch.cat([t["reason"] for t in targets_seen[:steps]])
    second = torch.cat([t["reason"] for t in targets_seen[steps:]])
    width = refined_from[0][1]
    assert sorted(((first + 1) % width).tolist()) == sorted(second.tolist())  # epoch 2 learns the refined labels
    history = json.loads((bundle.path / "metrics.json").read_text())["training"]["history"]
    assert history[0]["refined"] == {"reason": n_train, "outcome": n_train} and "refined" not in history[1]
    card = (bundle.path / "README.md").read_text()
    assert f"against its own reading (labels changed per epoch): reason {n_train}; outcome {n_train}" in card


def test_correct_refine_resumes_with_the_labels_it_refined(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed during epoch 2, a run resumes from the checkpoint written after the refinement and
    trains on the refined labels: the same weights as a run never interrupted."""
    from safetensors.torch import load_file

    import training.trainer as trainer_module

    def next_label(prior: Any, logits: Any) -> Any:  # changes every label, so a lost refinement shows
        return (prior.argmax(axis=1) + 1) % prior.shape[1]

    monkeypatch.setattr(trainer_module, "refine_labels", next_label)
    _, reference = train_on_agent_codes(tmp_path / "reference", label_noise="correct-refine", epochs=2)
    steps = -(-json.loads((reference.path / "data.json").read_text())["n_train"] // 16)
    calls = {"n": 0}
    real_loss = trainer_module.multitask_loss

    def crashing_loss(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == steps + 2:  # during epoch 2, after the refinement's checkpoint
            raise KeyboardInterrupt("killed")
        return real_loss(*args, **kwargs)

    monkeypatch.setattr(trainer_module, "multitask_loss", crashing_loss)
    with pytest.raises(KeyboardInterrupt):
        train_on_agent_codes(tmp_path / "run", label_noise="correct-refine", epochs=2)
    monkeypatch.setattr(trainer_module, "multitask_loss", real_loss)
    _, resumed = train_on_agent_codes(tmp_path / "run", label_noise="correct-refine", epochs=2)
    assert json.loads((resumed.path / "metrics.json").read_text())["training"]["resumed_from_step"] == steps
    a, b = load_file(str(reference.path / "model.safetensors")), load_file(str(resumed.path / "model.safetensors"))
    assert all(torch.allclose(a[k], b[k], atol=1e-6) for k in a)


def test_soft_targets_come_from_correct_soft_only(noisy_corpus: list[Contact]) -> None:
    from training.noise import handle_label_noise

    agent = resolve_labels(noisy_corpus[:300], priority=["agent"])
    trusted = set(range(0, 300, 5))
    contacts = [noisy_corpus[i] if i in trusted else c for i, c in enumerate(agent.contacts)]
    sources = [{"reason": "labels", "outcome": "labels"} if i in trusted else s for i, s in enumerate(agent.sources)]
    labels = {"reason": sorted({str(c.labels.reason) for c in noisy_corpus if c.labels}),
              "outcome": sorted({str(c.labels.outcome) for c in noisy_corpus if c.labels})}  # fmt: skip
    reader = OutOfFold(folds=3, max_features=5000)
    soft = handle_label_noise(contacts, sources, method="correct-soft", reader=reader)
    plain = handle_label_noise(contacts, sources, method="correct", reader=reader)
    assert soft.contacts == plain.contacts and plain.soft_targets(labels) is None
    targets = soft.soft_targets(labels)
    assert targets is not None
    for task in ("reason", "outcome"):
        rows = targets.targets[task]
        assert set(rows) == {c.contact_id for i, c in enumerate(contacts) if i not in trusted}  # agents' codes only
        by_id = {c.contact_id: str(getattr(c.labels, task)) for c in soft.contacts}
        assert all(labels[task][int(row.argmax())] == by_id[cid] for cid, row in rows.items())
        assert any(0.05 < row.max() < 0.999 for row in rows.values())  # some codes teach more than one label


def test_forward_refuses_label_smoothing_on_top() -> None:
    from training.config import TrainingConfig

    with pytest.raises(ConfigError, match="label_smoothing must be 0"):
        TrainingConfig(label_noise="forward", label_smoothing=0.1)
