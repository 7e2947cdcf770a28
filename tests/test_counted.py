from viewer.data.counted import counted


def test_one_is_singular_and_everything_else_plural():
    assert counted(1, "run") == "1 run"
    assert [counted(n, "run") for n in (0, 2, 20)] == ["0 runs", "2 runs", "20 runs"]
    assert counted(3, "key", "keys differ") == "3 keys differ"
