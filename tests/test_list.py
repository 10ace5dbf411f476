"""python -m mad.list: every option of every group, each with a description."""

from mad.grid import options
from mad.list import GROUPS, entries, main


def test_every_option_is_listed_with_a_description(capsys):
    for group in GROUPS:
        rows = dict(entries(group))
        if group not in ("model", "loop"):
            assert sorted(rows) == sorted(options(group)), group
        assert all(doc.strip() for doc in rows.values()), [name for name, doc in rows.items() if not doc.strip()]
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "model=gaussian" in out and "loop=accumulate_subsample" in out and "+grid=lambda" in out and "+experiment=golden_ratio" in out
    assert main(["grid"]) == 0 and "model=" not in capsys.readouterr().out


def test_models_show_their_measured_default_time(capsys):
    from mad.families import FAMILIES
    from mad.list import timings

    device, seconds = timings()
    assert device and set(seconds) == set(FAMILIES)  # conf/timings.yaml: python -m benchmarks.defaults
    assert all(sizes["tiny"] > 0 and sizes["full"] > 0 for sizes in seconds.values())
    assert main(["model"]) == 0
    out = capsys.readouterr().out
    assert f"on {device}" in out and f"[{seconds['gmm']['full']:.0f} s; tiny {seconds['gmm']['tiny']:.0f} s]" in out
