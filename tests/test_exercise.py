"""labkit.check: right answers pass, wrong ones fail with a useful message, stubs depend on the mode."""

from __future__ import annotations

import pytest
import torch

import labkit
from labkit.exercise import ExerciseError, check


def _ref(x, beta=0.9):
    return beta * x + 1


def test_right_answer_passes(capsys):
    assert labkit.check(lambda x, beta=0.9: 1 + beta * x, _ref, [(torch.ones(3),), (torch.zeros(2, 2), 0.5)],
                        name="lif")
    assert "lif: correct on 2 cases." in capsys.readouterr().out


def test_wrong_answer_names_case_index_and_values():
    with pytest.raises(ExerciseError, match=r"lif, case 2 of 2: largest difference 1 at index \(1,\) "
                                            r"\(expected 2, got 3\)\. Use beta"):
        check(lambda x, beta=0.9: x + 1 if beta == 0.5 else _ref(x), _ref,
              [(torch.ones(3),), (torch.tensor([0.0, 2.0]), 0.5)], name="lif", hint="Use beta.")


def test_wrong_shape_and_nan_and_sequence_length():
    with pytest.raises(ExerciseError, match=r"expected shape \(3,\), got \(1, 3\)"):
        check(lambda x: _ref(x)[None], _ref, [(torch.ones(3),)])
    with pytest.raises(ExerciseError, match="NaN or infinite"):
        check(lambda x: x / 0 * 0, _ref, [(torch.ones(3),)])
    with pytest.raises(ExerciseError, match="sequence of 2 values, got tuple of 1"):
        check(lambda x: (x,), lambda x: (x, x), [(torch.ones(3),)])


def test_an_answer_that_raises_is_reported():
    with pytest.raises(ExerciseError, match="raised ZeroDivisionError"):
        check(lambda x: 1 / 0, _ref, [(1.0,)])


def test_stub_reminds_a_student_but_fails_the_book_build(capsys):
    def stub(x):
        ...

    assert check(stub, _ref, [(1.0,)], name="lif", _static=False) is False
    assert "not written yet" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="still the stub"):
        check(stub, _ref, [(1.0,)], name="lif", _static=True)


def test_values_are_compared_too():
    assert check(0.25, 0.25000001)
    with pytest.raises(ExerciseError, match="expected 0.25, got 0.3"):
        check(0.3, 0.25)
