"""Few-shot mode: supervised contrastive tuning, logistic heads and the refit on all contacts."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression
from transformers import AutoTokenizer

from dispo.contact import Contact, Labels, Turn
from dispo.errors import ConfigError
from dispo.io import write_contacts
from dispo.model.features import Featurizer
from dispo.model.modeling import DispoModel, ModelConfig
from dispo.model.predictor import Predictor
from dispo.taxonomy import Taxonomy
from tests.factories import make_tiny_base_model
from training.config import RunConfig, TrainingConfig
from training.contrastive import (
    class_balanced_batches,
    contrastive_pretrain,
    contrastive_text,
    supervised_contrastive_loss,
)
from training.head_init import fit_heads
from training.pipeline import train_model

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def few_shot_corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Eight contacts for each of four reasons, in the built corpus's format."""
    from training.corpus.builder import CorpusBuilder, CorpusConfig

    root = tmp_path_factory.mktemp("few-shot")
    contacts = [b.contact for b in CorpusBuilder(CorpusConfig(n_contacts=400, seed=11)).build()]
    by_reason: dict[str, list] = {}
    for contact in contacts:
        if contact.labels is not None and contact.labels.reason is not None:
            by_reason.setdefault(contact.labels.reason, []).append(contact)
    reasons = sorted(r for r, members in by_reason.items() if len(members) >= 8)[:4]
    kept = [c for r in reasons for c in by_reason[r][:8]]
    write_contacts(kept, root / "train.jsonl")
    base = make_tiny_base_model(root / "base", [t.text for c in contacts for t in c.turns])
    return {"root": root, "train": root / "train.jsonl", "base": base}


def test_class_balanced_batches_cover_every_index_once_in_label_groups() -> None:
    labels = ["a"] * 7 + ["b"] * 5 + ["c"] * 9
    batches = class_balanced_batches(labels, batch_size=8, per_class=4, rng=random.Random(0))
    flat = [i for batch in batches for i in batch]
    assert sorted(flat) == list(range(len(labels)))
    assert all(len(batch) >= 8 for batch in batches[:-1])
    # Labels come in groups of up to four, so every contact has a same-label partner in its
    # batch except the single leftovers (b: 4+1, c: 4+4+1).
    lonely = [i for batch in batches for i in batch if sum(labels[j] == labels[i] for j in batch) == 1]
    assert len(lonely) <= 2
    assert batches == class_balanced_batches(labels, batch_size=8, per_class=4, rng=random.Random(0))


def test_supervised_contrastive_loss_prefers_clustered_vectors() -> None:
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    centres = torch.eye(3)[labels] * 5.0
    clustered = centres + 0.01 * torch.randn(6, 3, generator=torch.Generator().manual_seed(0))
    mixed = clustered[torch.tensor([0, 2, 4, 1, 3, 5])]
    low = supervised_contrastive_loss(clustered, labels, temperature=0.1)
    high = supervised_contrastive_loss(mixed, labels, temperature=0.1)
    assert float(low) < 0.01 < float(high)
    # No anchor has a positive: zero loss that still back-propagates.
    lonely = torch.randn(3, 4, requires_grad=True)
    loss = supervised_contrastive_loss(lonely, torch.tensor([0, 1, 2]), temperature=0.1)
    loss.backward()
    assert float(loss) == 0.0 and lonely.grad is not None and bool(torch.isfinite(lonely.grad).all())


def test_contrastive_stage_pulls_same_reason_contacts_together(tmp_path: Path, taxonomy: Taxonomy) -> None:
    """Three reasons, each with its own words among shared filler: after the stage, contacts with
    the same reason are far more similar to each other than to the rest."""
    reasons = list(taxonomy.reason_names)[:3]
    cues = {reasons[0]: "refund money back charge", reasons[1]: "password login locked account",
            reasons[2]: "delivery parcel late courier"}  # fmt: skip
    filler = ["hello", "please", "i", "you", "the", "a", "my", "and", "with", "today", "thanks", "so", "um"]
    rng = random.Random(0)
    contacts = []
    for i in range(24):
        reason = reasons[i % 3]
        words = rng.sample(filler, 5) + rng.sample(cues[reason].split(), 2)
        rng.shuffle(words)
        contacts.append(Contact(contact_id=f"c{i}", turns=[Turn(speaker="customer", text=" ".join(words))],
                                labels=Labels(reason=reason)))  # fmt: skip
    base = make_tiny_base_model(tmp_path / "base", [t.text for c in contacts for t in c.turns])
    torch.manual_seed(0)
    config = ModelConfig.for_taxonomy(taxonomy, base_model=str(base), context_layers=0)
    model = DispoModel.from_base(config)
    featurizer = Featurizer(AutoTokenizer.from_pretrained(str(base)), config)
    texts = [contrastive_text(featurizer, c) for c in contacts]
    labels = np.array([reasons[i % 3] for i in range(len(contacts))])

    def separation() -> float:
        model.eval()
        with torch.no_grad():
            ids, mask = featurizer.tokenize(texts)
            z = torch.nn.functional.normalize(model.encode_turns(ids, mask), dim=-1)
        similarity = (z @ z.T).numpy()
        same = labels[:, None] == labels[None, :]
        off_diagonal = ~np.eye(len(labels), dtype=bool)
        return float(similarity[same & off_diagonal].mean() - similarity[~same].mean())

    before = separation()
    stats = contrastive_pretrain(
        model, featurizer, contacts, epochs=10, learning_rate=3e-3, batch_size=12, temperature=0.1,
        seed=0, device=torch.device("cpu"),
    )  # fmt: skip
    assert stats.examples == 24 and stats.steps == 20
    assert before < 0.1 and separation() > 0.3


def test_logistic_heads_do_not_depend_on_the_scale_of_the_features() -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(60, 8)).astype(np.float32)
    target = (features[:, 0] + 0.3 * rng.normal(size=60) > 0).astype(np.int64)
    target[:20] = 2  # three classes

    def fitted(scale: float) -> np.ndarray:
        model = torch.nn.Module()
        model.heads = torch.nn.ModuleDict({"reason": torch.nn.Linear(8, 3)})  # type: ignore[assignment]
        fit_heads(model, {"reason": features * scale}, {"reason": torch.from_numpy(target)}, c=4.0)  # type: ignore[arg-type]
        with torch.no_grad():
            return model.heads["reason"](torch.from_numpy(features * scale)).numpy()

    np.testing.assert_allclose(fitted(1.0), fitted(20.0), rtol=1e-3, atol=1e-3)
    unit = features / np.linalg.norm(features, axis=1).mean()
    reference = LogisticRegression(C=4.0, max_iter=3000).fit(unit, target)
    np.testing.assert_array_equal(fitted(20.0).argmax(axis=1), reference.predict(unit))


def test_epochs_may_be_zero_only_with_logistic_heads() -> None:
    assert TrainingConfig(epochs=0, head_init="logistic").epochs == 0
    with pytest.raises(ConfigError, match="epochs"):
        TrainingConfig(epochs=0)
    with pytest.raises(ConfigError, match="contrastive_epochs"):
        TrainingConfig(contrastive_epochs=-1)
    with pytest.raises(ConfigError, match="contrastive_temperature"):
        TrainingConfig(contrastive_temperature=0.0)


def test_few_shot_config_trains_refits_on_all_contacts_and_predicts(
    few_shot_corpus: dict[str, Path], tmp_path: Path
) -> None:
    config = Path(__file__).resolve().parents[1] / "training" / "configs" / "few-shot.yaml"
    run = RunConfig.from_file(
        config,
        data={"train": [str(few_shot_corpus["train"])], "validation_fraction": 0.2},
        model={
            "base_model": str(few_shot_corpus["base"]),
            "max_turn_tokens": 24,
            "token_budget": 96,
            "freeze_encoder_layers": 2,
        },
        training={"contrastive_epochs": 1, "contrastive_batch_size": 16, "baseline": True},
    )
    assert run.training.refit_on_all and run.training.head_init == "logistic"
    bundle = train_model(run, "few", root=tmp_path)
    metrics = json.loads((bundle.path / "metrics.json").read_text())
    data = json.loads((bundle.path / "data.json").read_text())
    history = metrics["training"]["history"]
    refit = metrics["training"]["refit_on_all"]
    # The first run held out a split and scored the logistic heads as epoch 0 ...
    assert history[0]["epoch"] == 0 and "validation_score" in history[0]
    assert data["n_validation"] > 0 and data["n_train"] == data["n_contacts"] == 32
    # ... then the refit trained on all 32 contacts for the epochs the split chose.
    best = max(history, key=lambda e: e["validation_score"])["epoch"]
    assert refit == {"epochs": best, "contacts": 32, "seconds": refit["seconds"]}
    assert f"then refit on all 32 contacts for {best} epochs" in (bundle.path / "README.md").read_text()
    calibration = json.loads((bundle.path / "calibration.json").read_text())["temperatures"]
    assert set(calibration) >= {"reason"} and all(t > 0 for t in calibration.values())
    predictor = Predictor.load("few", root=tmp_path)
    from dispo.io import read_contacts

    predictions = predictor.predict(list(read_contacts(few_shot_corpus["train"]))[:4])
    assert len(predictions) == 4 and all(p.reasons for p in predictions)
