"""The converted Keras zoo: real models split bit-exactly at every cut (opt-in: ``-m zoo``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tpusplit.errors import TpusplitError
from tpusplit.graph import load
from tpusplit.models import zoo


def test_unknown_and_unbuilt_models_are_clear_errors(tmp_path: object,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TPUSPLIT_ZOO", str(tmp_path))
    with pytest.raises(TpusplitError, match="not a zoo model"):
        zoo.zoo_path("ResNet51")
    with pytest.raises(TpusplitError, match="tpusplit zoo build ResNet50"):
        zoo.zoo_path("ResNet50")
    assert zoo.available() == []


@pytest.mark.zoo
@pytest.mark.parametrize("name", ["ResNet50", "InceptionV3"])
def test_every_single_cut_is_bit_exact(name: str, assert_bit_exact: Callable[..., None]) -> None:
    if name not in zoo.available():
        pytest.skip(f"{name} not built (tpusplit zoo build {name})")
    data = zoo.zoo_path(name).read_bytes()
    for k in range(1, len(load(data).ops)):
        assert_bit_exact(data, [k])
