"""Temperature scaling (Guo et al. 2017): one scalar per head, fitted on the validation split
by minimising the negative log-likelihood, so that a 0.8 probability is right 80% of the time.
It divides the logits, so it never changes which label is predicted."""

from __future__ import annotations

import numpy as np
import torch

MIN_TEMPERATURE, MAX_TEMPERATURE = 0.05, 20.0


def fit_temperature(logits: np.ndarray, targets: np.ndarray, binary: bool = False) -> float:
    known = targets >= 0
    if known.sum() < 2:
        return 1.0
    x = torch.tensor(logits[known], dtype=torch.float64)
    y = torch.tensor(targets[known])
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        scaled = x / log_t.exp()
        if binary:
            loss = torch.nn.functional.binary_cross_entropy_with_logits(scaled, y.double())
        else:
            loss = torch.nn.functional.cross_entropy(scaled, y.long())
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(np.clip(log_t.exp().item(), MIN_TEMPERATURE, MAX_TEMPERATURE))
