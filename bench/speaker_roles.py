"""Benchmark: speaker roles inferred for diarized transcripts (``Speaker 1`` / ``Speaker 2``).

Each labelled conversation is read as diarization would give it: its agent and customer turns
renamed ``Speaker N`` in the order the voices first speak (system turns keep their name), then
:func:`dispo.roles.infer_roles` assigns the roles again. A conversation counts as right when every
voice gets its true role. Beside it, the two rules a pipeline might hard-wire: the first voice is the
agent, or the first voice is the customer.

Sets: the realistic hand-written halves (dev halves decided the cue lists; test halves reported),
contacts of the corpus builder (``--built``), and, with ``--shared``, real dialogues of other kinds:
USS (MultiWOZ, SGD, CCPE and ReDial: USER is the customer, SYSTEM the agent) and the three ABCD
sample conversations (customer service, human to human). With ``--model``, what the inference does to
the model's reason accuracy, outcome and end-sentiment macro-F1 and upsell F1 on the
realistic halves, against the true roles and
against the first-voice-is-the-agent rule.

    python bench/speaker_roles.py --shared ../shared/data --built data/work/label-noise-0.1/held_out.jsonl \
        --model dispo-default
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sklearn.metrics import accuracy_score, f1_score

from dispo.cli import configure_logging
from dispo.contact import Contact, Turn
from dispo.io import read_contacts
from dispo.roles import infer_roles
from training.evalset import SET_DIRS, check_frozen, half_path

logger = logging.getLogger("bench.speaker_roles")

Dialogue = list[tuple[str, str]]  # (role, text): customer, agent or system
USS_SETS = ("MWOZ", "SGD", "CCPE", "ReDial")
PARTIES = ("agent", "customer")


def diarized(dialogue: Dialogue) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """The dialogue as diarization names it, and the truth: label -> role."""
    names: dict[str, str] = {}
    for role, _ in dialogue:
        if role in PARTIES and role not in names:
            names[role] = f"Speaker {len(names) + 1}"
    return [(names.get(role, role), text) for role, text in dialogue], {v: k for k, v in names.items()}


def content(turns: list[tuple[str, str]], labels: Sequence[str]) -> dict[str, str]:
    named = [label for label, _ in turns if label not in labels]
    unnamed = [(label, text) for label, text in turns if label in labels]
    return infer_roles(unnamed, named=named).roles


def first_voice(role: str) -> Callable[[list[tuple[str, str]], Sequence[str]], dict[str, str]]:
    other = "customer" if role == "agent" else "agent"
    return lambda _turns, labels: {label: (role if i == 0 else other) for i, label in enumerate(labels)}


METHODS = {"content (dispo.roles)": content, "first voice is the agent": first_voice("agent"),
           "first voice is the customer": first_voice("customer")}  # fmt: skip


def score(dialogues: Sequence[Dialogue]) -> dict[str, Any]:
    out: dict[str, Any] = {"conversations": 0}
    right = dict.fromkeys(METHODS, 0)
    for dialogue in dialogues:
        turns, truth = diarized(dialogue)
        if len(truth) < 2:  # one party only: nothing to tell apart
            continue
        out["conversations"] += 1
        labels = list(truth)
        for name, method in METHODS.items():
            try:
                guess = method(turns, labels)
            except ValueError:
                continue
            right[name] += all(guess.get(label) == role for label, role in truth.items())
    n = max(out["conversations"], 1)
    out["accuracy"] = {name: round(count / n, 4) for name, count in right.items()}
    return out


def contact_dialogue(contact: Contact) -> Dialogue:
    return [(turn.speaker, turn.text) for turn in contact.turns]


def uss_dialogues(path: Path) -> Iterator[Dialogue]:
    dialogue: Dialogue = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if dialogue:
                yield dialogue
            dialogue = []
            continue
        role, _, rest = line.partition("\t")
        text = rest.split("\t", 1)[0]
        if text == "OVERALL":
            continue
        dialogue.append(("customer" if role == "USER" else "agent", text))
    if dialogue:
        yield dialogue


def abcd_dialogues(path: Path) -> list[Dialogue]:
    return [
        [(role, text) for role, text in conv["original"] if role in PARTIES] for conv in json.loads(path.read_text())
    ]


def with_roles(contact: Contact, roles_of: Callable[[list[tuple[str, str]], Sequence[str]], dict[str, str]]) -> Contact:
    turns, truth = diarized(contact_dialogue(contact))
    if len(truth) < 2:
        return contact
    try:
        guess = roles_of(turns, list(truth))
    except ValueError:
        return contact
    new = [Turn(speaker=guess.get(label, label), text=turn.text, offset_s=turn.offset_s)  # type: ignore[arg-type]
           for (label, _), turn in zip(turns, contact.turns, strict=True)]  # fmt: skip
    return contact.model_copy(update={"turns": new})


def gold_label(contact: Contact, task: str) -> Any:
    return getattr(contact.labels, task) if contact.labels else None


def predicted(prediction: Any, task: str) -> Any:
    if task == "reason":
        return prediction.reason
    if task == "upsell":
        return prediction.upsell_probability is not None and prediction.upsell_probability >= 0.5
    value = getattr(prediction, task)
    return value.label if value is not None else None


def model_effect(model: str, models_dir: Path | None, contacts: Sequence[Contact]) -> dict[str, Any]:
    from dispo.model.predictor import Predictor

    predictor = Predictor.load(model, models_dir)
    out: dict[str, Any] = {}
    for name, transform in (("true roles", None), ("content (dispo.roles)", content),
                            ("first voice is the agent", first_voice("agent"))):  # fmt: skip
        read = [c if transform is None else with_roles(c, transform) for c in contacts]
        predictions = predictor.predict(read)
        figures = {}
        for task in ("reason", "outcome", "sentiment", "upsell"):
            known = [(c, p) for c, p in zip(contacts, predictions, strict=True) if gold_label(c, task) is not None]
            gold = [str(gold_label(c, task)) for c, _ in known]
            guess = [str(predicted(p, task)) for _, p in known]
            if task == "reason":
                figures[task] = round(float(accuracy_score(gold, guess)), 4)
            elif task == "upsell":
                figures[task] = round(float(f1_score(gold, guess, pos_label="True")), 4)
            else:
                figures[task] = round(float(f1_score(gold, guess, labels=sorted(set(gold)), average="macro")), 4)
        out[name] = figures
        logger.info("%s: %s", name, figures)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--shared", type=Path, default=None, help="../shared/data: USS and ABCD sample dialogues")
    parser.add_argument("--built", type=Path, default=None, help="a file of contacts of the corpus builder")
    parser.add_argument("--model", default=None, help="also measure the model on the realistic halves")
    parser.add_argument("--models-dir", type=Path, default=None)
    parser.add_argument("--halves", nargs="+", default=["dev", "test"], choices=("dev", "test"))
    parser.add_argument("--results", type=Path, default=Path("bench/results/speaker_roles.json"))
    args = parser.parse_args()
    configure_logging("INFO")
    results: dict[str, Any] = {"sets": {}}
    halves: dict[str, list[Contact]] = {}
    for half in args.halves:
        for folder in SET_DIRS.values():
            check_frozen(folder)
            halves.setdefault(half, []).extend(read_contacts(half_path(half, folder)))
        results["sets"][f"realistic {half} halves"] = score([contact_dialogue(c) for c in halves[half]])
    if args.built:
        results["sets"]["built"] = score([contact_dialogue(c) for c in read_contacts(args.built)])
    if args.shared:
        for name in USS_SETS:
            results["sets"][f"USS {name}"] = score(
                list(uss_dialogues(args.shared / "uss_user_satisfaction" / f"{name}.txt"))
            )
        results["sets"]["ABCD sample"] = score(abcd_dialogues(args.shared / "abcd_sample" / "abcd_sample.json"))
    for name, figures in results["sets"].items():
        logger.info("%s (%d): %s", name, figures["conversations"], figures["accuracy"])
    if args.model:
        results["model"] = {"name": args.model, **{f"realistic {half} halves": model_effect(args.model, args.models_dir,
                                                                                              halves[half])
                                                  for half in args.halves}}  # fmt: skip
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    logger.info("results: %s", args.results)


if __name__ == "__main__":
    main()
