"""Helpers shared by the per-family test modules (not a test module itself)."""

from __future__ import annotations

from typing import Callable

import pytest
import torch.nn.functional as F

import reflosses


def same_error(call: Callable, name: str) -> None:
    """``call(F)`` and ``call(reflosses)`` both raise, the same class, and ours names ``name``."""
    with pytest.raises(Exception) as theirs:
        call(F)
    with pytest.raises(Exception) as ours:
        call(reflosses)
    assert type(ours.value) is type(theirs.value), (ours.value, theirs.value)
    assert name in str(ours.value), str(ours.value)
