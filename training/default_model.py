"""``make default-model``: rebuild the model that ships with dispo, from one recipe, on any machine.

The recipe (``training/configs/default-model.yaml``) names everything that goes into it:

1. a built corpus (``training.corpus``) with real Bitext customer requests and agent responses;
2. real text from the public sets in ``--shared`` (converted by ``training.sources``; training
   splits only, each sampled to the size the recipe gives);
3. the run config (model and training sections); the epoch, the blend and the calibration are chosen
   on the dev halves of the realistic sets (``data/eval/realistic*/dev.jsonl``), never trained on;
   the calibration is checked across the two sets, each scored by what the other chose.

Then it evaluates the new version on the realistic test half, the built test split and the public
test splits (tweeteval, USS, and DSTC11 for upsell), writes every report into the bundle
(``evaluations/``), and, unless ``--no-ship``, replaces ``models/dispo-default`` with the new
version stored compactly (only the weights that differ from the base encoder package).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import random
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dispo.cli import configure_logging
from dispo.contact import Contact
from dispo.errors import ConfigError
from dispo.io import read_contacts, write_contacts
from dispo.model.bundle import DATA_FILE, MANIFEST_FILE, MODEL_CARD_FILE, RUN_CONFIG_FILE, promote, versions
from dispo.model.modeling import READING_SETTINGS, ModelConfig
from training.config import RunConfig, TrainingConfig
from training.evalset import SET_DIRS, check_frozen_sets, dev_halves, half_path

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_RECIPE = ROOT / "training" / "configs" / "default-model.yaml"
SHIPPED_NAME = "dispo-default"
# Derived files a shipped bundle leaves out (pictures and per-contact predictions are rebuilt by
# `dispo evaluate`; the numbers stay in report.json / report.md).
UNSHIPPED = ("*.png", "predictions.jsonl")


@dataclass
class CorpusRecipe:
    n_contacts: int = 10_000
    seed: int = 7
    test_fraction: float = 0.2
    utterances: str | None = None
    utterance_share: float = 1.0  # of openings from ``utterances``; the rest from the phrase bank
    responses: str | None = None
    response_share: float = 0.5
    scene_share: float = 0.5
    scripted_close_share: float = 0.0  # contacts ending on the agent's scripted sign-off (CorpusConfig)
    system_close_share: float = 0.0  # contacts ending on the platform's end event (CorpusConfig)

    def __post_init__(self) -> None:
        if self.n_contacts <= 0 or not 0.0 < self.test_fraction < 0.5:
            raise ConfigError("corpus: n_contacts must be positive and test_fraction in (0, 0.5)")


@dataclass
class SourceRecipe:
    """A public set converted from ``--shared``/``path``; its training split, sampled to ``sample``.

    ``hold_out`` contacts of the training split (a seeded sample) are never trained on and are
    reported as ``<name>_held_out``: the source's own kind of text, read without touching its
    official test split. The sample is drawn with ``hold_out_seed``, not the training seed, so
    runs with other seeds hold out the same contacts. ``repeat`` trains on every kept contact that
    many times (a small set that would otherwise be seen too rarely in the mix). The copies get
    their own ids, so they would be judged apart by label-noise handling (refused with it) and not
    relabelled by audits of the original."""

    path: str
    sample: int | None = None
    options: dict[str, Any] = field(default_factory=dict)
    hold_out: int = 0
    hold_out_seed: int = 42
    repeat: int = 1

    def __post_init__(self) -> None:
        if self.sample is not None and self.sample <= 0:
            raise ConfigError(f"source {self.path}: sample must be positive, got {self.sample}")
        if self.hold_out < 0 or self.repeat < 1:
            raise ConfigError(
                f"source {self.path}: hold_out must be >= 0 and repeat >= 1, got {self.hold_out} and {self.repeat}"
            )

    @property
    def reshaped(self) -> bool:
        """Whether the training file is prepared here (held out, sampled, repeated), not by the run."""
        return self.hold_out > 0 or self.repeat > 1


@dataclass
class EvaluationRecipe:
    """A public set's split to report on (converted like a source, never trained on)."""

    source: str
    path: str
    split: str = "test"
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class LexiconRecipe:
    """Lone customer messages read with the VADER lexicon too (:mod:`dispo.model.lexicon`): the blend is
    fitted on the held-out contacts of the recipe source ``source`` (its ``hold_out``), after training;
    with ``priors`` (a file of the project, e.g. the dev half of ``data/eval/lone-messages``), class
    offsets on top of it are chosen on those messages (:func:`training.pipeline.choose_lexicon`)."""

    source: str
    priors: str | None = None


@dataclass
class Recipe:
    corpus: CorpusRecipe
    sources: dict[str, SourceRecipe]
    run: dict[str, Any]
    evaluations: dict[str, EvaluationRecipe]
    # Reading settings (``READING_SETTINGS``) the trained model takes after its training and calibration,
    # as `--reading-only` gives them to the shipped model: a rule chosen on weights trained without it.
    reading: dict[str, Any] = field(default_factory=dict)
    lexicon: LexiconRecipe | None = None

    def __post_init__(self) -> None:
        if self.lexicon is not None:
            spec = self.sources.get(self.lexicon.source)
            if spec is None or spec.hold_out <= 0:
                raise ConfigError(f"lexicon.source {self.lexicon.source!r} must be a recipe source with hold_out > 0")
        stray = sorted(set(self.reading) - set(READING_SETTINGS))
        if stray:
            raise ConfigError(f"reading.{stray[0]} is not a reading setting; expected some of {READING_SETTINGS}")
        model = self.run.get("model") or {}
        both = sorted(set(self.reading) & set(model))
        if both:
            raise ConfigError(f"{both[0]} is set both under run.model (trained with) and reading (read with after)")
        ModelConfig.from_dict({**model, **self.reading})  # a bad value fails here, not after training

    @classmethod
    def from_file(cls, path: Path) -> Recipe:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        unknown = set(raw) - {"corpus", "sources", "run", "evaluations", "reading", "lexicon"}
        if unknown:
            raise ConfigError(f"{path}: unknown sections {sorted(unknown)}")
        owned = {"train", "validation", "sample_sizes"} & set((raw.get("run") or {}).get("data") or {})
        if owned:
            raise ConfigError(f"{path}: run.data.{sorted(owned)[0]} is set by the recipe itself (corpus, sources)")
        try:
            return cls(
                corpus=CorpusRecipe(**(raw.get("corpus") or {})),
                sources={name: SourceRecipe(**spec) for name, spec in (raw.get("sources") or {}).items()},
                run=raw.get("run") or {},
                evaluations={k: EvaluationRecipe(**v) for k, v in (raw.get("evaluations") or {}).items()},
                reading=raw.get("reading") or {},
                lexicon=LexiconRecipe(**(raw["lexicon"] or {})) if "lexicon" in raw else None,
            )
        except (TypeError, ConfigError) as exc:
            raise ConfigError(f"{path}: {exc}") from None


def builder_digest() -> str:
    """SHA-256 of the corpus builder's source: a changed builder rebuilds the corpus, not only a changed recipe."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent / "corpus"
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def build_corpus(recipe: CorpusRecipe, shared: Path, work: Path) -> tuple[Path, Path]:
    """The built training and test files (an 80/20 split of one seeded corpus)."""
    import random

    from training.corpus.builder import CorpusBuilder, CorpusConfig

    train, test, stamp = work / "built-train.jsonl", work / "built-test.jsonl", work / "built.recipe.json"
    wanted = json.dumps({**asdict(recipe), "shared": str(shared), "builder": builder_digest()}, sort_keys=True)
    if train.is_file() and test.is_file() and stamp.is_file() and stamp.read_text(encoding="utf-8") == wanted:
        return train, test
    config = CorpusConfig(
        n_contacts=recipe.n_contacts,
        seed=recipe.seed,
        utterances_path=str(shared / recipe.utterances) if recipe.utterances else None,
        utterance_share=recipe.utterance_share,
        responses_path=str(shared / recipe.responses) if recipe.responses else None,
        response_share=recipe.response_share,
        scene_share=recipe.scene_share,
        scripted_close_share=recipe.scripted_close_share,
        system_close_share=recipe.system_close_share,
    )
    started = time.perf_counter()
    contacts = [b.contact for b in CorpusBuilder(config).build()]
    random.Random(recipe.seed).shuffle(contacts)
    cut = int(len(contacts) * (1 - recipe.test_fraction))
    write_contacts(contacts[:cut], train)
    write_contacts(contacts[cut:], test)
    stamp.write_text(wanted, encoding="utf-8")
    logger.info("built %d contacts in %.1f s -> %s", len(contacts), time.perf_counter() - started, work)
    return train, test


def convert_source(name: str, path: Path, work: Path, options: dict[str, Any]) -> Path:
    """The public set ``name`` converted once into ``work/<name>/``."""
    from training.sources import convert

    out, stamp = work / name, work / f"{name}.recipe.json"
    wanted = json.dumps({"path": str(path), "options": options}, sort_keys=True)
    if not (out / "train.jsonl").is_file() or not stamp.is_file() or stamp.read_text(encoding="utf-8") != wanted:
        convert(name, path, out, **options)
        stamp.write_text(wanted, encoding="utf-8")
    return out


def prepare_source(name: str, folder: Path, spec: SourceRecipe, *, seed: int) -> tuple[Path, Path | None]:
    """The training file of a converted source, and its held-out file when ``spec.hold_out``.

    A source without ``hold_out`` or ``repeat`` trains on its converted ``train.jsonl`` (sampled by
    the run). Otherwise ``hold_out`` contacts of it (drawn with ``spec.hold_out_seed``) go to
    ``held_out.jsonl``, the rest is sampled to ``spec.sample`` (with the training ``seed``) and
    repeated ``spec.repeat`` times into ``train-recipe.jsonl`` (copy ``k`` of a contact has the id
    ``<id>~k``). Both are rewritten on every call: cheap, and never stale."""
    source = folder / "train.jsonl"
    if not spec.reshaped:
        return source, None
    contacts = read_contacts(source)
    if spec.hold_out >= len(contacts):
        raise ConfigError(f"source {name}: hold_out {spec.hold_out} leaves nothing of {len(contacts)} to train on")
    random.Random(f"{spec.hold_out_seed}:{name}").shuffle(contacts)
    held, kept = contacts[: spec.hold_out], contacts[spec.hold_out :]
    if spec.sample is not None and spec.sample < len(kept):
        kept = random.Random(f"{seed}:{name}:sample").sample(kept, spec.sample)
    repeated = [copy_of(c, k) if k else c for k in range(spec.repeat) for c in kept]
    train = folder / "train-recipe.jsonl"
    write_contacts(repeated, train)
    held_out = None
    if held:
        held_out = folder / "held_out.jsonl"
        write_contacts(held, held_out)
    logger.info("%s: %d held out, %d kept x %d -> %s", name, len(held), len(kept), spec.repeat, train)
    return train, held_out


def copy_of(contact: Contact, k: int) -> Contact:
    """Copy ``k`` of a repeated training contact: the same text and labels under its own id."""
    return contact.model_copy(
        update={"contact_id": f"{contact.contact_id}~{k}", "metadata": {**contact.metadata, "copy": k}}
    )


def upsell_only(path: Path, out: Path) -> Path:
    """A copy of ``path`` with only the upsell labels (DSTC11's reasons are another taxonomy's)."""
    kept = []
    for contact in read_contacts(path):
        if contact.labels is None or contact.labels.upsell is None:
            continue
        kept.append(contact.model_copy(update={"labels": contact.labels.model_copy(update={"reason": None})}))
    write_contacts(kept, out)
    return out


def ship(bundle: Path, registry: Path) -> Path:
    """Make ``bundle`` (compact weights only) the shipped default model: copied into a temporary
    folder, renamed into the next version, promoted, and only then the older versions removed.
    Machine paths in its records are made relative to the project."""
    data = json.loads((bundle / DATA_FILE).read_text(encoding="utf-8"))
    if not data.get("weights", {}).get("compact"):
        raise ConfigError(f"{bundle}: only a bundle with compact weights ships (training.compact_weights)")
    parent = registry / SHIPPED_NAME
    parent.mkdir(parents=True, exist_ok=True)
    existing = versions(SHIPPED_NAME, registry)
    version = f"v{int(existing[-1][1:]) + 1 if existing else 1}"
    incoming = Path(tempfile.mkdtemp(prefix=".incoming-", dir=parent))
    staged = incoming / "bundle"
    shutil.copytree(bundle, staged, ignore=shutil.ignore_patterns(*UNSHIPPED, ".*"))
    for path in [staged / DATA_FILE, staged / RUN_CONFIG_FILE, staged / MODEL_CARD_FILE, *staged.rglob("*.json")]:
        if path.is_file():
            text = path.read_text(encoding="utf-8").replace(str(ROOT) + "/", "")
            path.write_text(text, encoding="utf-8")
    card = (staged / MODEL_CARD_FILE).read_text(encoding="utf-8").split("\n", 1)
    (staged / MODEL_CARD_FILE).write_text(
        f"# {SHIPPED_NAME} {version}\n{card[1] if len(card) > 1 else ''}", encoding="utf-8"
    )
    manifest = json.loads((staged / MANIFEST_FILE).read_text(encoding="utf-8"))
    # where its weights were trained; a recalibrated bundle (derived_from) keeps its source's
    manifest.setdefault("trained_as", f"{manifest['name']}:{manifest['version']}")
    manifest.update(name=SHIPPED_NAME, version=version)
    manifest["files"] = sorted(p.name for p in staged.iterdir() if p.name != MANIFEST_FILE)
    (staged / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    target = parent / version
    staged.rename(target)
    shutil.rmtree(incoming, ignore_errors=True)
    promote(SHIPPED_NAME, version, registry)
    for old in existing:
        shutil.rmtree(parent / old)
    size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
    logger.info("shipped %s:%s (%.1f MB) -> %s", SHIPPED_NAME, version, size / 1e6, target)
    return target


def ship_evaluated(bundle: Path, registry: Path) -> Path:
    """:func:`ship` a bundle that a ``--no-ship`` run finished: its evaluations are in it already."""
    if not (bundle / "evaluations" / "summary.json").is_file():
        raise ConfigError(f"{bundle}: not evaluated by `python -m training.default_model --no-ship` (no evaluations/)")
    return ship(bundle, registry)


def make_default_model(
    recipe_path: Path, shared: Path, work: Path, *, name: str, ship_to: Path | None
) -> dict[str, Any]:
    from training.pipeline import train_model

    started = time.perf_counter()
    check_frozen_sets()
    recipe = Recipe.from_file(recipe_path)
    work.mkdir(parents=True, exist_ok=True)
    built_train, built_test = build_corpus(recipe.corpus, shared, work)
    prepared = prepare_sources(recipe, shared, work)
    repeated = [n for n, spec in recipe.sources.items() if spec.repeat > 1]
    if repeated and (recipe.run.get("training") or {}).get("label_noise", "none") != "none":
        raise ConfigError(f"{recipe_path}: sources {repeated} repeat contacts, which label-noise handling would "
                          "judge apart; drop repeat or run.training.label_noise")  # fmt: skip
    train_files = [str(built_train)] + [str(train) for train, _ in prepared.values()]
    # a reshaped source is sampled by prepare_source, before its copies are made
    samples = {str(prepared[n][0]): s.sample for n, s in recipe.sources.items() if s.sample and not s.reshaped}
    sections = json.loads(json.dumps(recipe.run))
    data = sections.setdefault("data", {})
    data.update(train=train_files, sample_sizes=samples, validation=dev_halves())
    run = RunConfig.from_sections(sections, source=str(recipe_path))
    registry = work / "models"
    trained = train_model(run, name, root=registry).path
    if recipe.reading:
        from training.pipeline import reread_bundle

        trained = reread_bundle(trained, reading=recipe.reading, root=registry, name=name).path
    fitted_on = None
    if recipe.lexicon is not None:
        lexicon = with_lexicon(trained, recipe.lexicon, prepared, registry, name=name)
        fitted_on = recipe.lexicon.source if lexicon != trained else None
        trained = lexicon
    # held-out sets and the recipe's sources describe this training run, not a later derived version;
    # the set the lexicon blend was fitted on is not held out from it (its out-of-fold figures are in the card)
    held_out = {f"{n}_held_out": held for n, (_, held) in prepared.items() if held is not None and n != fitted_on}
    return finish_default_model(
        trained, recipe, shared, work, built_test, started=started, ship_to=ship_to, held_out=held_out,
        card_prefix=sources_section(recipe),
    )  # fmt: skip


def with_lexicon(
    bundle: Path, spec: LexiconRecipe, prepared: dict[str, tuple[Path, Path | None]], registry: Path, *, name: str
) -> Path:
    """``bundle``'s next version reading lone messages with the lexicon too, fitted on the held-out
    contacts of ``spec.source``; ``bundle`` itself when the blend does not help out of fold there."""
    from training.pipeline import lexicon_bundle

    held_out = prepared[spec.source][1]
    if held_out is None:
        raise ConfigError(f"lexicon.source {spec.source!r} holds nothing out")
    priors = str(ROOT / spec.priors) if spec.priors else None
    derived = lexicon_bundle(bundle, str(held_out), priors=priors, root=registry, name=name)
    return bundle if derived is None else derived.path


def prepare_sources(recipe: Recipe, shared: Path, work: Path) -> dict[str, tuple[Path, Path | None]]:
    """Each source's training file and held-out file (``None`` without ``hold_out``)."""
    seed = int((recipe.run.get("training") or {}).get("seed", TrainingConfig.seed))
    return {
        name: prepare_source(name, convert_source(name, shared / spec.path, work, spec.options), spec, seed=seed)
        for name, spec in recipe.sources.items()
    }


def recalibrate_default_model(recipe_path: Path, shared: Path, work: Path, *, ship_to: Path | None) -> dict[str, Any]:
    """The shipped model's next version without training: its weights with the blend (where the recipe
    blends), temperatures, the recipe's class offsets (``run.training.class_offsets``) and top-label
    maps (``run.training.top_label_calibration``) chosen again on the realistic dev halves, and the
    lexicon blend (``lexicon``) fitted again on the new sentiment calibration, evaluated and shipped like
    a trained one. What a full `make default-model` chooses after training, for a
    model trained before."""
    from training.pipeline import recalibrate_bundle

    def derive(source: Path, recipe: Recipe, registry: Path) -> Path:
        training = recipe.run.get("training", {})
        offsets = tuple(training.get("class_offsets") or ())
        top_label = tuple(training.get("top_label_calibration") or ())
        recalibrated = recalibrate_bundle(
            source, dev_halves(), blend=bool(training.get("blend_baseline")), temperatures=True, offsets=offsets,
            top_label=top_label, root=registry, name=SHIPPED_NAME,
        ).path  # fmt: skip
        if recipe.lexicon is None:
            return recalibrated
        # the refitted sentiment calibration drops the lexicon blend fitted on the old one: fitted again
        return with_lexicon(recalibrated, recipe.lexicon, prepare_sources(recipe, shared, work), registry,
                            name=SHIPPED_NAME)  # fmt: skip

    return derive_default_model(recipe_path, shared, work, derive, ship_to=ship_to)


def lexicon_default_model(recipe_path: Path, shared: Path, work: Path, *, ship_to: Path | None) -> dict[str, Any]:
    """The shipped model's next version without training: its weights and calibration, reading lone
    customer messages with the lexicon too (the recipe's ``lexicon`` section), evaluated and shipped
    like a trained one. For a model trained before the lexicon blend existed."""

    def derive(source: Path, recipe: Recipe, registry: Path) -> Path:
        if recipe.lexicon is None:
            raise ConfigError(f"{recipe_path}: no lexicon section")
        derived = with_lexicon(source, recipe.lexicon, prepare_sources(recipe, shared, work), registry,
                               name=SHIPPED_NAME)  # fmt: skip
        if derived == source:
            raise ConfigError(f"{recipe_path}: the lexicon blend does not help out of fold: nothing to ship")
        return derived

    return derive_default_model(recipe_path, shared, work, derive, ship_to=ship_to)


def reread_default_model(recipe_path: Path, shared: Path, work: Path, *, ship_to: Path | None) -> dict[str, Any]:
    """The shipped model's next version without training: its weights and calibration reading contacts
    with the recipe's reading settings (``READING_SETTINGS``: those of ``run.model``, which a full
    `make default-model` trains with, and the ``reading`` section, which it applies after training),
    evaluated and shipped like a trained one. For a model trained before a reading rule existed."""
    from training.pipeline import reread_bundle

    def derive(source: Path, recipe: Recipe, registry: Path) -> Path:
        model = recipe.run.get("model", {})
        reading = {key: model[key] for key in READING_SETTINGS if key in model} | recipe.reading
        if not reading:
            raise ConfigError(f"{recipe_path}: neither run.model nor reading sets any of {READING_SETTINGS}")
        return reread_bundle(source, reading=reading, root=registry, name=SHIPPED_NAME).path

    return derive_default_model(recipe_path, shared, work, derive, ship_to=ship_to)


def derive_default_model(
    recipe_path: Path,
    shared: Path,
    work: Path,
    derive: Callable[[Path, Recipe, Path], Path],
    *,
    ship_to: Path | None,
) -> dict[str, Any]:
    """A new version of the shipped model made by ``derive(shipped bundle, recipe, work registry)``
    without training, then evaluated and shipped as :func:`make_default_model` does."""
    started = time.perf_counter()
    check_frozen_sets()
    recipe = Recipe.from_file(recipe_path)
    work.mkdir(parents=True, exist_ok=True)
    _, built_test = build_corpus(recipe.corpus, shared, work)
    shipped = ROOT / "models" / SHIPPED_NAME
    source = shipped / (shipped / "PROMOTED").read_text(encoding="utf-8").strip()
    bundle = derive(source, recipe, work / "models")
    return finish_default_model(bundle, recipe, shared, work, built_test, started=started, ship_to=ship_to)


def finish_default_model(
    bundle: Path,
    recipe: Recipe,
    shared: Path,
    work: Path,
    built_test: Path,
    *,
    started: float,
    ship_to: Path | None,
    held_out: dict[str, Path] | None = None,
    card_prefix: str = "",
) -> dict[str, Any]:
    """Evaluate a new default model on the realistic test half, the built test split and the public
    test splits (and, for a model just trained, the sources' ``held_out`` contacts), write the
    reports and the model card's table (after ``card_prefix``) into it, and ship it."""
    from training.report import evaluate_bundle

    evaluations: dict[str, Any] = {}
    targets = {("realistic_test" if name == "a" else f"realistic_{name}_test"): half_path("test", folder)
               for name, folder in SET_DIRS.items()}  # fmt: skip
    targets["built_test"] = built_test
    for label, spec in recipe.evaluations.items():
        path = convert_source(spec.source, shared / spec.path, work, spec.options) / f"{spec.split}.jsonl"
        targets[label] = upsell_only(path, work / f"{label}.jsonl") if spec.source == "dstc11" else path
    for label, path in (held_out or {}).items():
        if label in targets:
            raise ConfigError(f"evaluation {label!r} is both a recipe evaluation and a source's held-out set")
        targets[label] = path
    for label, path in targets.items():
        report = evaluate_bundle(bundle, path, bundle / "evaluations" / label, pictures=False)
        evaluations[label] = {"data": str(path), "n": report["meta"]["n"], "model": report["model"],
                              "baseline": report["baseline"]}  # fmt: skip
    (bundle / "evaluations" / "summary.json").write_text(json.dumps(evaluations, indent=2) + "\n")
    with (bundle / MODEL_CARD_FILE).open("a", encoding="utf-8") as card:
        card.write(card_prefix + evaluations_section(evaluations))
    headlines = {k: {t: _headline(v) for t, v in e["model"].items()} for k, e in evaluations.items()}
    summary = {"bundle": str(bundle), "minutes": round((time.perf_counter() - started) / 60, 1),
               "evaluations": headlines}  # fmt: skip
    if ship_to is not None:
        summary["shipped"] = str(ship(bundle, ship_to))
    logger.info("default model: %s", json.dumps(summary, indent=2))
    return summary


def sources_section(recipe: Recipe) -> str:
    """The model card's account of how each public set entered the mix (the file counts above are
    after sampling, holding out and repeating)."""
    lines = ["", "## Recipe sources", "", "| source | public set | sampled to | held out | times each |",
             "|---|---|---|---|---|"]  # fmt: skip
    for name, spec in recipe.sources.items():
        lines.append(f"| {name} | {spec.path} | {spec.sample or 'all'} | {spec.hold_out} | {spec.repeat} |")
    return "\n".join(lines) + "\n"


def evaluations_section(evaluations: dict[str, Any]) -> str:
    """The model card's table of every evaluation: realistic text beside built and public sets."""
    from training.modelcard import metrics_table

    lines = ["", "## Evaluations", "",
             "Calibrated predictions on data never trained on. `realistic_test` is the hand-written test half "
             "(data/eval/realistic), the figure to trust for real conversations, and `realistic_b_test` and "
             "`realistic_c_test` those of sets by other writers (data/eval/realistic-b, -c); `built_test` is the "
             "corpus builder's own held-out split and is optimistic. Reports: evaluations/NAME/report.md.",
             ""]  # fmt: skip
    for label, result in evaluations.items():
        lines += [f"### {label} ({result['n']} contacts, `{result['data']}`)", "",
                  metrics_table(result["model"], result.get("baseline")), ""]  # fmt: skip
    return "\n".join(lines) + "\n"


def _headline(values: dict[str, Any]) -> dict[str, Any]:
    keys = ("n", "accuracy", "macro_f1", "f1", "ece")
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in values.items() if k in keys}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data", help="public data sets")
    parser.add_argument("--recipe", type=Path, default=DEFAULT_RECIPE)
    parser.add_argument("--work", type=Path, default=ROOT / "data" / "work" / "default-model")
    parser.add_argument("--name", default=SHIPPED_NAME, help="model name in the work registry")
    parser.add_argument("--no-ship", action="store_true", help="train and evaluate, leave models/ alone")
    derived = parser.add_mutually_exclusive_group()
    derived.add_argument(
        "--reading-only", action="store_true",
        help="no training: the shipped model reading contacts with the recipe's closing_customer_segments, max_turns "
        "and token_budget, evaluated",
    )  # fmt: skip
    derived.add_argument(
        "--ship-trained", type=Path, metavar="BUNDLE",
        help="no training: ship a bundle an earlier --no-ship run trained and evaluated (e.g. once "
        "bench/dev_choice.py preferred it)",
    )  # fmt: skip
    derived.add_argument(
        "--lexicon-only", action="store_true",
        help="no training: the shipped model reading lone customer messages with the lexicon too (the recipe's "
        "lexicon section), evaluated",
    )  # fmt: skip
    derived.add_argument(
        "--calibration-only", action="store_true",
        help="no training: the shipped model with its blend, temperatures, the recipe's class offsets and top-label "
        "maps chosen again on the dev halves, evaluated",
    )  # fmt: skip
    args = parser.parse_args(argv)
    configure_logging("INFO")
    if args.ship_trained is not None:
        if args.no_ship:
            parser.error("--ship-trained ships: it cannot be combined with --no-ship")
        ship_evaluated(args.ship_trained, ROOT / "models")
        return
    if not args.shared.is_dir():
        raise SystemExit(f"public data sets not found at {args.shared} (pass --shared)")
    ship_to = None if args.no_ship else ROOT / "models"
    if args.calibration_only:
        recalibrate_default_model(args.recipe, args.shared, args.work, ship_to=ship_to)
    elif args.lexicon_only:
        lexicon_default_model(args.recipe, args.shared, args.work, ship_to=ship_to)
    elif args.reading_only:
        reread_default_model(args.recipe, args.shared, args.work, ship_to=ship_to)
    else:
        make_default_model(args.recipe, args.shared, args.work, name=args.name, ship_to=ship_to)


if __name__ == "__main__":
    main()
