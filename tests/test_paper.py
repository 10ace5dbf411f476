"""paper/: every experiment config composes into valid grid points, and the pipeline (experiment,
figure, results table) runs end to end at tiny sizes."""

import pytest

from mad import paper
from mad.grid import expand, options


def test_every_experiment_config_has_a_paper_entry():
    assert sorted(options("experiment")) == sorted(paper.EXPERIMENTS)


@pytest.mark.parametrize("name", sorted(paper.EXPERIMENTS))
def test_experiment_composes_and_validates(name):
    for size in ((), paper.EXPERIMENTS[name].tiny):
        axes, points = expand(*paper.compose(name, size))
        assert axes and points  # every experiment is a sweep over something


@pytest.mark.slow
def test_pipeline_end_to_end_at_tiny_sizes(tmp_path):
    names = ["poisson_survival", "linreg_replace_vs_accumulate", "golden_ratio"]  # cheap ones: few programs
    assert paper.main(["--size", "tiny", "--only", ",".join(names), "--out", str(tmp_path)]) == 0
    for name in names:
        assert (tmp_path / "figures" / f"{name}.pdf").stat().st_size > 0
        assert (tmp_path / "figures" / f"{name}.png").stat().st_size > 0
        assert (tmp_path / "data" / f"{name}.nc").exists()
    table = (tmp_path / "results.md").read_text()
    assert "Tiny sizes" in table
    for name in names:
        assert f"| {name} |" in table
    assert "Suresh et al. 2024" in table and "\\begin{longtable}" in (tmp_path / "results.tex").read_text()


def test_rows_judge_agreement_in_standard_errors():
    assert paper.Row("r", "q", 1.0, 0.1, closed_form=1.4).closed_form_agrees
    assert not paper.Row("r", "q", 1.0, 0.1, closed_form=1.6).closed_form_agrees
    assert paper.Row("r", "q", 1.0, 0.1).closed_form_agrees is None
