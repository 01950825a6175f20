"""Outlier exposure: contacts no reason fits pull the reason head towards uniform
(dispo/model/modeling.py's loss, training.out_of_scope_weight)."""

from __future__ import annotations

import pytest
import torch

from dispo.contact import Contact, Labels, Turn
from dispo.model.modeling import IGNORE_INDEX, multitask_loss
from training.labelsources import OUT_OF_SCOPE, is_out_of_scope


def request(i: int, **metadata: object) -> Contact:
    return Contact(contact_id=f"oos-{i}", turns=[Turn(speaker="customer", text=f"what is the weather on day {i}")],
                   metadata=metadata)  # fmt: skip


def test_only_marked_contacts_without_a_reason_are_out_of_scope() -> None:
    assert is_out_of_scope(request(1, **{OUT_OF_SCOPE: True}))
    assert not is_out_of_scope(request(2))
    assert not is_out_of_scope(request(3, **{OUT_OF_SCOPE: "true"}))  # a string is not the flag
    labelled = request(4, **{OUT_OF_SCOPE: True}).model_copy(update={"labels": Labels(reason="track_order")})
    assert not is_out_of_scope(labelled)  # a reason label says otherwise


def test_the_exposure_term_is_the_cross_entropy_to_uniform_of_the_marked_rows() -> None:
    logits = {"reason": torch.tensor([[4.0, 0.0, 0.0, 0.0], [0.0, 3.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])}
    targets = {"reason": torch.tensor([0, IGNORE_INDEX, IGNORE_INDEX])}
    marked = torch.tensor([False, True, True])
    plain, _ = multitask_loss(logits, targets)
    exposed, parts = multitask_loss(logits, targets, out_of_scope=marked, out_of_scope_weight=0.5)
    uniform = -torch.log_softmax(logits["reason"][1:], dim=-1).mean(dim=-1).mean()
    assert parts["reason_out_of_scope"] == pytest.approx(float(uniform))
    assert float(exposed) == pytest.approx(float(plain) + 0.5 * float(uniform))
    assert float(multitask_loss(logits, targets, out_of_scope=marked)[0]) == pytest.approx(float(plain))  # weight 0


def test_the_exposure_pulls_the_marked_rows_to_uniform() -> None:
    torch.manual_seed(0)
    logits = (torch.randn(8, 5) * 3).requires_grad_()
    before = float(torch.softmax(logits.detach(), dim=-1).max())
    optimizer = torch.optim.SGD([logits], lr=20.0)
    marked = torch.ones(8, dtype=torch.bool)
    targets = {"reason": torch.full((8,), IGNORE_INDEX)}
    for _ in range(200):
        optimizer.zero_grad()
        multitask_loss({"reason": logits}, targets, out_of_scope=marked, out_of_scope_weight=1.0)[0].backward()
        optimizer.step()
    assert before > 0.5 and float(torch.softmax(logits.detach(), dim=-1).max()) < 0.2 + 1e-3  # 1/5 each
