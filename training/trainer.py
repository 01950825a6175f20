"""The training loop: masked multi-task fine-tuning with validation, early stopping,
resumable checkpoints and temperature calibration.

Cost is what matters on CPU, so the loop does each expensive thing once: contacts are
segmented and tokenized once before the first epoch, batches are built from contacts of
similar length (little padding), and the encoder's attention dropout is off (see model.py).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from tqdm import tqdm
from transformers import AutoTokenizer, get_linear_schedule_with_warmup

from dispo.contact import Contact
from dispo.model.bundle import round_to_stored
from dispo.model.calibration import sigmoid, softmax
from dispo.model.features import (
    Featurizer,
    LabelEncoder,
    PreparedContact,
    assemble_batch,
    contact_segments,
    over_budget,
)
from dispo.model.modeling import (
    SPEAKER_IDS,
    TASKS,
    DispoModel,
    ModelConfig,
    ModelOutput,
    TurnBatch,
    multitask_loss,
    resolve_base_model,
)
from dispo.model.salience import SegmentSalience, segment_text
from dispo.taxonomy import Taxonomy
from training.calibration import fit_temperature
from training.config import RunConfig
from training.contrastive import contrastive_pretrain
from training.evaluation import binary_metrics, multiclass_metrics, selection_score
from training.head_init import fit_heads, pooled_features
from training.labelsources import is_out_of_scope
from training.noise_correction import ForwardLoss, SoftTargets, refine_labels

logger = logging.getLogger(__name__)

BUCKET_FACTOR = 50  # batches sorted by length within windows of this many batches


@dataclass
class EncodedContact:
    token_ids: list[list[int]]
    speakers: list[int]
    n_tokens: int
    vectors: torch.Tensor | None = None  # cached turn vectors when the encoder is frozen
    hidden: list[torch.Tensor] | None = None  # cached output of the frozen bottom layers, per segment
    views: Mapping[str, tuple[int, ...]] = field(default_factory=dict)  # narrower readings (features.narrow_views)


@dataclass
class TrainResult:
    model: DispoModel
    tokenizer: Any
    temperatures: dict[str, float]
    validation: dict[str, Any]
    history: list[dict[str, Any]]
    seconds: float
    tokens_seen: int
    stopped_early: bool = False
    resumed_from_step: int = 0
    best_epoch: int = 0  # the epoch whose weights were kept; 0: the logistic-regression heads
    extra: dict[str, Any] = field(default_factory=dict)
    # ``refine``: per task, the label ids trained on after the last refinement (-100: none), and
    # how many agent-coded labels each refinement changed.
    refined_targets: dict[str, list[int]] = field(default_factory=dict)
    refined_changes: dict[str, list[int]] = field(default_factory=dict)


def fit_salience(contacts: Sequence[Contact], config: ModelConfig) -> SegmentSalience | None:
    """Fit the segment scorer on the training contacts, or ``None`` when no contact is over the
    budget (short texts such as single requests: every segment is read, salience never matters)."""
    segmented = [contact_segments(c.turns, config.max_turn_tokens) for c in contacts]
    over = sum(1 for segments in segmented if over_budget(segments, config))
    if not over:
        return None
    started = time.perf_counter()
    labels = {task: [getattr(c.labels, task) if c.labels else None for c in contacts] for task in TASKS}
    salience = SegmentSalience().fit([[segment_text(s.speaker, s.text) for s in segs] for segs in segmented], labels)
    logger.info(
        "segment salience: %d of %d training contacts over the token budget; scorer for %s fitted in %.1f s",
        over, len(contacts), ", ".join(salience.tasks_) or "no task", time.perf_counter() - started,
    )  # fmt: skip
    return salience


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def data_fingerprint(contacts: Sequence[Contact]) -> str:
    digest = hashlib.sha256()
    for contact in contacts:
        digest.update(json.dumps(contact.to_json_dict(), sort_keys=True).encode("utf-8"))
    return digest.hexdigest()


def split_validation(contacts: Sequence[Contact], fraction: float, seed: int) -> tuple[list[Contact], list[Contact]]:
    """Seeded split stratified by reason (contacts without one form their own stratum)."""
    strata: dict[str, list[int]] = {}
    for index, contact in enumerate(contacts):
        key = (contact.labels.reason if contact.labels else None) or "<none>"
        strata.setdefault(key, []).append(index)
    rng = random.Random(seed)
    validation: set[int] = set()
    for key in sorted(strata):
        members = strata[key][:]
        rng.shuffle(members)
        take = round(len(members) * fraction)
        if len(members) >= 2:
            take = max(1, min(take, len(members) - 1))
        validation.update(members[:take])
    train = [c for i, c in enumerate(contacts) if i not in validation]
    val = [c for i, c in enumerate(contacts) if i in validation]
    return train, val


class Trainer:
    def __init__(
        self,
        run: RunConfig,
        taxonomy: Taxonomy,
        checkpoint_dir: Path,
        model: DispoModel | None = None,
        tokenizer: Any = None,
    ) -> None:
        self.run = run
        self.taxonomy = taxonomy
        self.checkpoint_dir = checkpoint_dir
        seed_everything(run.training.seed)
        if run.training.threads:
            torch.set_num_threads(run.training.threads)
        self.device = torch.device(run.training.device)
        self.model = model if model is not None else DispoModel.from_base(run.model)
        self.model.to(self.device)
        base = resolve_base_model(run.model.base_model)
        self.tokenizer = tokenizer if tokenizer is not None else AutoTokenizer.from_pretrained(base)
        self.featurizer = Featurizer(self.tokenizer, run.model)
        self.label_encoder = LabelEncoder(taxonomy)

    # -- data --------------------------------------------------------------------------------------
    def encode(self, contacts: Sequence[Contact], desc: str) -> list[EncodedContact]:
        """Segment, select and tokenize every contact once."""
        prepared: list[PreparedContact] = self.featurizer.prepare_many(contacts)
        texts = [s.text for p in prepared for s in p.segments]
        ids: list[list[int]] = []
        chunk = 4096
        for start in tqdm(range(0, len(texts), chunk), desc=f"tokenizing {desc}", unit="chunk", leave=False):
            encoded = self.tokenizer(
                texts[start : start + chunk], truncation=True, max_length=self.run.model.max_turn_tokens
            )
            ids.extend(encoded["input_ids"])
        out: list[EncodedContact] = []
        cursor = 0
        for item in prepared:
            n = len(item.segments)
            token_ids = ids[cursor : cursor + n]
            cursor += n
            if not token_ids:  # a contact with no words still gets one (empty) segment
                token_ids = [self.tokenizer("", truncation=True)["input_ids"]]
            speakers = [SPEAKER_IDS[s.speaker] for s in item.segments] or [SPEAKER_IDS["customer"]]
            out.append(EncodedContact(token_ids, speakers, sum(len(t) for t in token_ids), views=item.views))
        return out

    def forward(self, items: Sequence[EncodedContact]) -> tuple[ModelOutput, int]:
        """Model output for a batch, from cached turn vectors when the encoder is frozen."""
        if all(item.vectors is not None for item in items):
            vectors = torch.cat([item.vectors for item in items if item.vectors is not None]).to(self.device)
            return self._contextualize(items, vectors), 0
        if all(item.hidden is not None for item in items):
            return self._forward_from_hidden(items)
        batch = self.collate(items).to(self.device)
        return self.model(batch), int(batch.attention_mask.sum())

    @torch.inference_mode()
    def cache_turn_vectors(self, encoded: Sequence[EncodedContact]) -> None:
        """A frozen encoder gives the same vectors every epoch: compute them once."""
        self.model.eval()
        size = self.run.training.eval_batch_size
        for start in tqdm(range(0, len(encoded), size), desc="caching turn vectors", unit="batch", leave=False):
            items = encoded[start : start + size]
            batch = self.collate(items).to(self.device)
            vectors = self.model.encode_turns(batch.input_ids, batch.attention_mask).float().cpu()
            cursor = 0
            for item in items:
                item.vectors = vectors[cursor : cursor + len(item.token_ids)].clone()
                cursor += len(item.token_ids)

    @torch.inference_mode()
    def cache_lower_states(self, encoded: Sequence[EncodedContact], n_layers: int) -> None:
        """Frozen bottom layers give the same hidden states every epoch: compute them once (fp16)."""
        self.model.eval()
        size = self.run.training.eval_batch_size
        for start in tqdm(range(0, len(encoded), size), desc=f"caching {n_layers} frozen layers", unit="batch"):
            items = encoded[start : start + size]
            batch = self.collate(items).to(self.device)
            hidden = self.model.encode_lower(batch.input_ids, batch.attention_mask, n_layers).to(torch.float16).cpu()
            cursor = 0
            for item in items:
                item.hidden = [hidden[cursor + i, : len(ids)].clone() for i, ids in enumerate(item.token_ids)]
                cursor += len(item.token_ids)

    def _forward_from_hidden(self, items: Sequence[EncodedContact]) -> tuple[ModelOutput, int]:
        segments = [h for item in items for h in (item.hidden or [])]
        width = max(len(h) for h in segments)
        hidden = torch.zeros((len(segments), width, segments[0].shape[-1]), dtype=torch.float32)
        attention = torch.zeros((len(segments), width), dtype=torch.long)
        for row, states in enumerate(segments):
            hidden[row, : len(states)] = states.float()
            attention[row, : len(states)] = 1
        hidden, attention = hidden.to(self.device), attention.to(self.device)
        layers = self.run.model.freeze_encoder_layers
        vectors = self.model.encode_upper(hidden, attention, layers)
        return self._contextualize(items, vectors), int(attention.sum())

    def _contextualize(self, items: Sequence[EncodedContact], vectors: torch.Tensor) -> ModelOutput:
        """Task outputs from the turn vectors of ``items`` (flattened in order)."""
        empty = torch.zeros((0, 0), dtype=torch.long)
        views = [item.views for item in items]
        batch = assemble_batch(empty, empty, _rows(items), [item.speakers for item in items], views).to(self.device)
        return self.model.read_batch(vectors, batch)

    def collate(self, items: Sequence[EncodedContact]) -> TurnBatch:
        segments = [ids for item in items for ids in item.token_ids]
        width = max(len(s) for s in segments)
        pad = int(self.tokenizer.pad_token_id or 0)
        input_ids = torch.full((len(segments), width), pad, dtype=torch.long)
        attention = torch.zeros((len(segments), width), dtype=torch.long)
        for row, ids in enumerate(segments):
            input_ids[row, : len(ids)] = torch.tensor(ids)
            attention[row, : len(ids)] = 1
        views = [item.views for item in items]
        return assemble_batch(input_ids, attention, _rows(items), [item.speakers for item in items], views)

    def epoch_batches(self, encoded: Sequence[EncodedContact], epoch: int) -> list[list[int]]:
        """Deterministic for (seed, epoch): shuffle, sort by length within windows, shuffle batches."""
        rng = random.Random(self.run.training.seed * 1000 + epoch)
        order = list(range(len(encoded)))
        rng.shuffle(order)
        size = self.run.training.batch_size
        window = size * BUCKET_FACTOR
        batches: list[list[int]] = []
        for start in range(0, len(order), window):
            block = sorted(order[start : start + window], key=lambda i: encoded[i].n_tokens)
            batches.extend(block[i : i + size] for i in range(0, len(block), size))
        rng.shuffle(batches)
        return batches

    # -- evaluation --------------------------------------------------------------------------------
    @torch.inference_mode()
    def predict_logits(self, encoded: Sequence[EncodedContact]) -> dict[str, np.ndarray]:
        self.model.eval()
        size = self.run.training.eval_batch_size
        order = sorted(range(len(encoded)), key=lambda i: encoded[i].n_tokens)
        outputs: dict[str, list[np.ndarray]] = {}
        indices: list[int] = []
        for start in range(0, len(order), size):
            chunk = order[start : start + size]
            logits = self.forward([encoded[i] for i in chunk])[0].logits
            for task, values in logits.items():
                outputs.setdefault(task, []).append(values.float().cpu().numpy())
            indices.extend(chunk)
        inverse = np.argsort(indices)
        return {task: np.concatenate(parts)[inverse] for task, parts in outputs.items()}

    def metrics(
        self, logits: dict[str, np.ndarray], targets: dict[str, torch.Tensor], temperatures: dict[str, float]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for task, values in logits.items():
            target = targets[task].numpy()
            if task == "upsell":
                out[task] = binary_metrics(sigmoid(values, temperatures.get(task, 1.0)), target)
            else:
                probs = softmax(values, temperatures.get(task, 1.0))
                out[task] = multiclass_metrics(probs, target, self.label_encoder.labels[task])
        return out

    # -- training ----------------------------------------------------------------------------------
    def _optimizer(self, total_steps: int) -> tuple[torch.optim.Optimizer, Any]:
        cfg = self.run.training
        encoder_params = [p for p in self.model.encoder.parameters() if p.requires_grad]
        encoder_ids = {id(p) for p in self.model.encoder.parameters()}
        head_params = [p for p in self.model.parameters() if id(p) not in encoder_ids and p.requires_grad]
        groups = [
            {"params": params, "lr": lr}
            for params, lr in ((encoder_params, cfg.learning_rate), (head_params, cfg.head_learning_rate))
            if params
        ]
        optimizer = torch.optim.AdamW(groups, weight_decay=cfg.weight_decay)
        scheduler = get_linear_schedule_with_warmup(optimizer, int(cfg.warmup_ratio * total_steps), total_steps)
        return optimizer, scheduler

    def train(
        self,
        train_contacts: Sequence[Contact],
        val_contacts: Sequence[Contact],
        *,
        forward: ForwardLoss | None = None,
        soft: SoftTargets | None = None,
        refine: SoftTargets | None = None,
    ) -> TrainResult:
        """Train on ``train_contacts``, choosing the epoch and the temperatures on ``val_contacts``.
        With ``forward``, the agent-coded labels it names train through its noise matrices; with
        ``soft``, the contacts it names learn from its distributions instead of their labels; with
        ``refine``, after every epoch but the last the contacts it names take the label that its
        distribution and the model's own reading agree on best (:func:`refine_labels`). The
        validation labels are never refined: they choose the epoch.

        With no validation contacts (a refit on all data) every configured epoch is run, the
        final weights are kept and no temperature is fitted (``temperatures`` is empty)."""
        cfg = self.run.training
        has_validation = bool(val_contacts)
        started = time.perf_counter()
        if self.run.model.segment_selection == "salience" and self.featurizer.salience is None:
            self.featurizer.salience = fit_salience(train_contacts, self.run.model)
            if self.featurizer.salience is None:
                logger.info("segment selection: no training contact is over the budget; selecting by position")
                self.run.model.segment_selection = "position"
        train_encoded = self.encode(train_contacts, "train")
        val_encoded = self.encode(val_contacts, "validation") if has_validation else []
        train_targets = self.label_encoder.encode(train_contacts)
        val_targets = self.label_encoder.encode(val_contacts) if has_validation else {}
        out_of_scope = torch.tensor([is_out_of_scope(c) for c in train_contacts], dtype=torch.bool)
        noise = _forward_terms(forward, train_contacts, self.device)
        soft_terms = _soft_terms(soft, train_contacts)
        refine_terms = _soft_terms(refine, train_contacts, what="refinement priors")
        if cfg.out_of_scope_weight > 0:
            logger.info("outlier exposure: %d out-of-scope contacts at weight %g",
                        int(out_of_scope.sum()), cfg.out_of_scope_weight)  # fmt: skip
        steps_per_epoch = math.ceil(len(train_encoded) / cfg.batch_size)
        total_steps = steps_per_epoch * cfg.epochs
        optimizer, scheduler = self._optimizer(total_steps)
        state = TrainState()
        fingerprint = self._fingerprint(train_contacts, val_contacts)
        resumed_from = self._maybe_resume(fingerprint, optimizer, scheduler, state)
        for task, values in state.refined_targets.items():  # a resumed run trains on what it had refined
            train_targets[task] = torch.tensor(values, dtype=torch.long)
        if cfg.contrastive_epochs and not state.contrastive_done:
            self.model.freeze_encoder(0)
            contrastive_pretrain(
                self.model,
                self.featurizer,
                train_contacts,
                epochs=cfg.contrastive_epochs,
                learning_rate=cfg.contrastive_learning_rate,
                batch_size=cfg.contrastive_batch_size,
                temperature=cfg.contrastive_temperature,
                seed=cfg.seed,
                device=self.device,
            )
            self.model.freeze_encoder(self.run.model.freeze_encoder_layers)
            state.contrastive_done = True
            self._save_checkpoint(fingerprint, optimizer, scheduler, state)
        frozen_layers = self.run.model.freeze_encoder_layers
        if self.model.encoder_frozen:
            self.cache_turn_vectors(train_encoded)
            self.cache_turn_vectors(val_encoded)
        elif frozen_layers > 0 and cfg.cache_frozen_layers:
            self.cache_lower_states(train_encoded, frozen_layers)
            self.cache_lower_states(val_encoded, frozen_layers)
        if cfg.head_init == "logistic" and state.global_step == 0 and state.epoch == 0:
            self._fit_heads(train_encoded, train_targets, val_encoded if has_validation else None, val_targets, state)
        deadline = started + cfg.max_minutes * 60 if cfg.max_minutes else None
        logger.info(
            "training on %d contacts (%d validation), %d steps/epoch, %d tokens/epoch",
            len(train_encoded),
            len(val_encoded),
            steps_per_epoch,
            sum(e.n_tokens for e in train_encoded),
        )
        out_of_time = False
        with tqdm(total=total_steps, initial=state.global_step, desc="training", unit="step") as bar:
            for epoch in range(state.epoch, cfg.epochs):
                self.model.train()
                batches = self.epoch_batches(train_encoded, epoch)
                for step in range(state.step_in_epoch, len(batches)):
                    indices = batches[step]
                    output, n_tokens = self.forward([train_encoded[i] for i in indices])
                    targets = {task: values[indices].to(self.device) for task, values in train_targets.items()}
                    loss, _parts = multitask_loss(
                        output.logits, targets, cfg.task_weights, cfg.label_smoothing,
                        out_of_scope=out_of_scope[indices].to(self.device), out_of_scope_weight=cfg.out_of_scope_weight,
                        noise={task: (log_t, noisy[indices].to(self.device)) for task, (log_t, noisy) in noise.items()},
                        soft={task: (rows[indices].to(self.device), has[indices].to(self.device))
                              for task, (rows, has) in soft_terms.items()},
                    )  # fmt: skip
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.max_grad_norm)
                    optimizer.step()
                    scheduler.step()
                    state.global_step += 1
                    state.step_in_epoch = step + 1
                    state.tokens_seen += n_tokens
                    value = loss.item()
                    state.loss_ema = value if state.loss_ema is None else 0.95 * state.loss_ema + 0.05 * value
                    bar.update(1)
                    bar.set_postfix(epoch=epoch + 1, loss=f"{state.loss_ema:.3f}")
                    if state.global_step % cfg.checkpoint_every_steps == 0:
                        self._save_checkpoint(fingerprint, optimizer, scheduler, state)
                    if deadline is not None and time.perf_counter() > deadline:
                        out_of_time = True
                        break
                entry: dict[str, Any] = {
                    "epoch": epoch + 1,
                    "step": state.global_step,
                    "train_loss": state.loss_ema,
                    "seconds": round(time.perf_counter() - started, 1),
                }
                if has_validation:
                    epoch_metrics = self.metrics(self.predict_logits(val_encoded), val_targets, {})
                    score = selection_score(epoch_metrics)
                    entry["validation_score"] = score
                    entry["validation"] = {t: _headline(m) for t, m in epoch_metrics.items()}
                    logger.info("epoch %d: validation score %.4f (%s)", epoch + 1, score, _summary(epoch_metrics))
                else:
                    score = float(epoch + 1)  # no validation: the latest epoch is the one kept
                    logger.info("epoch %d done (no validation split)", epoch + 1)
                if refine_terms and epoch + 1 < cfg.epochs and not out_of_time:
                    refine_started = time.perf_counter()
                    self._refine(train_encoded, train_targets, refine_terms, state)
                    entry["refined"] = {task: changes[-1] for task, changes in state.refined_changes.items()}
                    entry["refine_seconds"] = round(time.perf_counter() - refine_started, 1)
                state.history.append(entry)
                if score > state.best_score:
                    state.best_score = score
                    state.best_epoch = epoch + 1
                    state.bad_epochs = 0
                    self._save_best()
                else:
                    state.bad_epochs += 1
                state.epoch = epoch + 1
                state.step_in_epoch = 0
                self._save_checkpoint(fingerprint, optimizer, scheduler, state)
                if out_of_time:
                    logger.warning("stopping: the time budget of %s minutes is spent", cfg.max_minutes)
                    break
                if state.bad_epochs > cfg.patience:
                    logger.info(
                        "early stopping after epoch %d: no improvement for %d epochs", epoch + 1, state.bad_epochs
                    )
                    state.stopped_early = True
                    break
        self._load_best()
        self._round_to_stored()
        temperatures: dict[str, float] = {}
        validation: dict[str, Any] = {}
        if has_validation:
            val_logits = self.predict_logits(val_encoded)
            temperatures = {
                task: fit_temperature(values, val_targets[task].numpy(), binary=(task == "upsell"))
                for task, values in val_logits.items()
            }
            validation = {
                "uncalibrated": self.metrics(val_logits, val_targets, {}),
                "calibrated": self.metrics(val_logits, val_targets, temperatures),
            }
            logger.info("temperatures: %s", {k: round(v, 3) for k, v in temperatures.items()})
        return TrainResult(
            model=self.model,
            tokenizer=self.tokenizer,
            temperatures=temperatures,
            validation=validation,
            history=state.history,
            seconds=time.perf_counter() - started,
            tokens_seen=state.tokens_seen,
            stopped_early=state.stopped_early or out_of_time,
            resumed_from_step=resumed_from,
            best_epoch=state.best_epoch,
            refined_targets=state.refined_targets,
            refined_changes=state.refined_changes,
        )

    def _refine(
        self,
        train_encoded: Sequence[EncodedContact],
        train_targets: dict[str, torch.Tensor],
        terms: dict[str, tuple[torch.Tensor, torch.Tensor]],
        state: TrainState,
    ) -> None:
        """Relabel the contacts ``terms`` names by their prior and the model's reading (in place)."""
        logits = self.predict_logits(train_encoded)
        for task, (priors, has) in terms.items():
            rows = torch.from_numpy(has.numpy().nonzero()[0])
            before = train_targets[task][rows].numpy()
            after = refine_labels(priors[rows].numpy(), logits[task][rows])
            train_targets[task][rows] = torch.from_numpy(after).long()
            changed = int((after != before).sum())
            state.refined_targets[task] = train_targets[task].tolist()
            state.refined_changes.setdefault(task, []).append(changed)
            logger.info("refinement after epoch %d: %s: %d of %d agent-coded labels changed",
                        state.epoch + 1, task, changed, len(rows))  # fmt: skip

    def _fit_heads(
        self,
        train_encoded: list[EncodedContact],
        train_targets: dict[str, torch.Tensor],
        val_encoded: list[EncodedContact] | None,
        val_targets: dict[str, torch.Tensor],
        state: TrainState,
    ) -> None:
        """Logistic-regression heads, evaluated as 'epoch 0' so that fine-tuning must beat them."""
        size = self.run.training.eval_batch_size
        batches = [train_encoded[i : i + size] for i in range(0, len(train_encoded), size)]
        features = pooled_features(self.model, batches, self.forward)
        fit_heads(self.model, features, train_targets, c=self.run.training.head_init_c)
        entry: dict[str, Any] = {"epoch": 0, "step": 0, "train_loss": None}
        if val_encoded is None:
            state.best_score = 0.0
            logger.info("heads from logistic regression (no validation split)")
        else:
            validation = self.metrics(self.predict_logits(val_encoded), val_targets, {})
            state.best_score = selection_score(validation)
            entry["validation_score"] = state.best_score
            entry["validation"] = {t: _headline(m) for t, m in validation.items()}
            logger.info(
                "heads from logistic regression: validation score %.4f (%s)", state.best_score, _summary(validation)
            )
        state.history.append(entry)
        self._save_best()

    # -- checkpoints -------------------------------------------------------------------------------
    def _fingerprint(self, train: Sequence[Contact], val: Sequence[Contact]) -> str:
        payload = json.dumps(self.run.to_dict(), sort_keys=True) + data_fingerprint(train) + data_fingerprint(val)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]

    def _save_best(self) -> None:
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()}
        tmp = self.checkpoint_dir / "best.safetensors.tmp"
        save_file(state, str(tmp))
        tmp.replace(self.checkpoint_dir / "best.safetensors")

    def _round_to_stored(self) -> None:
        """Round the trained weights to the precision the bundle stores (``training.weights_dtype``)
        before the temperatures and validation figures are fitted on them: everything measured from
        here on is the stored model's. The epoch itself was chosen before rounding."""
        cfg = self.run.training
        base_model = self.run.model.base_model if cfg.compact_weights else None
        rounded = round_to_stored(self.model, dtype=cfg.weights_dtype, base_model=base_model)
        if rounded:
            logger.info("rounded %d trained tensors to %s, the precision the bundle stores", rounded, cfg.weights_dtype)

    def _load_best(self) -> None:
        best = self.checkpoint_dir / "best.safetensors"
        if best.is_file():
            self.model.load_state_dict(load_file(str(best), device=str(self.device)))

    def _save_checkpoint(self, fingerprint: str, optimizer: Any, scheduler: Any, state: TrainState) -> None:
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)
        payload = {
            "fingerprint": fingerprint,
            "model": self.model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "state": state.__dict__,
            "torch_rng": torch.get_rng_state(),
        }
        tmp = self.checkpoint_dir / "last.pt.tmp"
        torch.save(payload, tmp)
        tmp.replace(self.checkpoint_dir / "last.pt")

    def _maybe_resume(self, fingerprint: str, optimizer: Any, scheduler: Any, state: TrainState) -> int:
        path = self.checkpoint_dir / "last.pt"
        if not path.is_file():
            return 0
        payload = torch.load(path, weights_only=False, map_location=self.device)
        if payload.get("fingerprint") != fingerprint:
            logger.warning("ignoring checkpoint %s: it belongs to another config or data set", path)
            return 0
        self.model.load_state_dict(payload["model"])
        optimizer.load_state_dict(payload["optimizer"])
        scheduler.load_state_dict(payload["scheduler"])
        state.__dict__.update(payload["state"])
        torch.set_rng_state(payload["torch_rng"].cpu())
        logger.info("resuming from %s at epoch %d, step %d", path, state.epoch + 1, state.global_step)
        return state.global_step


@dataclass
class TrainState:
    epoch: int = 0
    step_in_epoch: int = 0
    global_step: int = 0
    tokens_seen: int = 0
    best_score: float = -1.0
    bad_epochs: int = 0
    best_epoch: int = 0
    loss_ema: float | None = None
    stopped_early: bool = False
    contrastive_done: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)
    refined_targets: dict[str, list[int]] = field(default_factory=dict)  # see TrainResult
    refined_changes: dict[str, list[int]] = field(default_factory=dict)


def _forward_terms(
    forward: ForwardLoss | None, contacts: Sequence[Contact], device: torch.device
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Per task, log T (on ``device``) and which of ``contacts`` hold an agent code, as the loss reads them."""
    if forward is None:
        return {}
    terms = {}
    for task, matrix in forward.matrices.items():
        noisy = torch.tensor([c.contact_id in forward.noisy[task] for c in contacts], dtype=torch.bool)
        log_matrix = torch.log(torch.as_tensor(matrix, dtype=torch.float32).clamp_min(1e-8))  # no -inf row
        terms[task] = (log_matrix.to(device), noisy)
        logger.info("forward loss correction: %s: %d of %d contacts' labels are agent codes",
                    task, int(noisy.sum()), len(contacts))  # fmt: skip
    return terms


def _soft_terms(
    soft: SoftTargets | None, contacts: Sequence[Contact], *, what: str = "soft targets"
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Per task, each of ``contacts``' target distribution (zeros where it has none) and which have one."""
    if soft is None:
        return {}
    terms = {}
    for task, targets in soft.targets.items():
        if not targets:
            continue
        width = len(next(iter(targets.values())))
        rows = np.zeros((len(contacts), width), dtype=np.float32)
        has = np.zeros(len(contacts), dtype=bool)
        for i, contact in enumerate(contacts):
            row = targets.get(contact.contact_id)
            if row is not None:
                rows[i], has[i] = row, True
        terms[task] = (torch.from_numpy(rows), torch.from_numpy(has))
        logger.info("%s: %s: %d of %d contacts read with the correction's posterior",
                    what, task, int(has.sum()), len(contacts))  # fmt: skip
    return terms


def _rows(items: Sequence[EncodedContact]) -> list[list[int]]:
    """For each contact, the indices of its segments in the flattened batch."""
    rows: list[list[int]] = []
    cursor = 0
    for item in items:
        rows.append(list(range(cursor, cursor + len(item.token_ids))))
        cursor += len(item.token_ids)
    return rows


def _headline(metrics: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in metrics.items() if k != "per_class"}


def _summary(metrics: dict[str, Any]) -> str:
    parts = []
    for task, values in metrics.items():
        if values.get("n"):
            key = "f1" if task == "upsell" else "macro_f1"
            parts.append(f"{task} acc {values['accuracy']:.3f} {key} {values[key]:.3f}")
    return ", ".join(parts)
