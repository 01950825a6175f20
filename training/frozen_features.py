"""Mean-pooled sentence vectors from the frozen base encoder (no fine-tune).

Cheap features for passes that must not cost another fine-tune: the label-noise correction's
out-of-fold reader and the frozen-encoder peer of the realistic benchmark. A text longer than
``max_tokens`` is read from its start.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

logger = logging.getLogger(__name__)

#: Tokens read per text: a long transcript is read from its start only (attention's cost grows with
#: the square of the length).
FROZEN_MAX_TOKENS = 256


def frozen_encoder_features(
    texts: Sequence[str], *, base_model: str | None = None, max_tokens: int = FROZEN_MAX_TOKENS, batch_size: int = 32
) -> np.ndarray:
    """One L2-normalised vector per text: the base encoder's last layer, mean-pooled over tokens.

    Texts are encoded in order of length so that a batch pads little."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from dispo.model.modeling import DEFAULT_BASE_MODEL, resolve_base_model

    path = resolve_base_model(base_model or DEFAULT_BASE_MODEL)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path).eval()
    order = np.argsort([len(t) for t in texts], kind="stable")
    out = np.zeros((len(texts), model.config.hidden_size), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            rows = order[start : start + batch_size]
            batch = tokenizer([texts[i] for i in rows], truncation=True, max_length=max_tokens, padding=True,
                              return_tensors="pt")  # fmt: skip
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1)
            out[rows] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
    logger.info("frozen encoder: %d texts encoded (%d tokens at most)", len(texts), max_tokens)
    return out
