"""Which config/summary columns the runs table picks by itself."""

from __future__ import annotations

from types import SimpleNamespace

from viewer.data.run_table_model import TableRow, auto_columns


def row(**values) -> TableRow:
    return TableRow(SimpleNamespace(id=str(values)), values)


def test_varying_columns_come_first_then_constant_ones_up_to_the_limits():
    rows = [
        row(
            **{
                "config.lr": 0.1,
                "config.seed": 1,
                "config.opt": "adam",
                "config._private": 1,
                "summary.loss": 0.5,
                "summary.acc": 0.9,
                "name": "a",
            }
        ),
        row(
            **{
                "config.lr": 0.2,
                "config.seed": 1,
                "config.opt": "adam",
                "config._private": 2,
                "summary.loss": 0.4,
                "summary.acc": 0.9,
                "name": "b",
            }
        ),
    ]
    # lr varies, opt and seed do not; _private is never shown; then summary the same way.
    assert auto_columns(rows) == ["config.lr", "config.opt", "config.seed", "summary.loss", "summary.acc"]


def test_limits_and_a_single_run():
    many = {f"config.k{i:02d}": i for i in range(10)} | {f"summary.m{i}": i for i in range(6)}
    cols = auto_columns([row(**many)])
    assert cols == [f"config.k{i:02d}" for i in range(6)] + [f"summary.m{i}" for i in range(4)]
    assert auto_columns([]) == []
