"""Figures, the static report (rendered in headless Chromium) and the W&B offline files."""

import shutil
import subprocess
import sys
import tempfile

import pytest

import mad
from mad.config import Config, WandbConfig
from mad.report.figures import write_figures
from mad.results import write_netcdf
from mad.tracking import log_sweep


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    ds = mad.simulate(Config(loops=64, generations=6, progress=False, grid={"loop.lam": [1.0, 0.7], "loop.n_syn": [10, 30]}))
    write_netcdf(ds, folder / "results.nc")
    return folder


@pytest.mark.slow
def test_figures_cover_every_metric_and_numeric_axis(run_dir, tmp_path):
    from mad.results import read_netcdf

    ds = read_netcdf(run_dir / "results.nc")
    names = sorted(p.stem for p in write_figures(ds, tmp_path, ("pdf", "svg")))
    metrics = ["collapsed", "cov_frob_sq", "kl_fwd", "kl_rev", "logdet_ratio", "mean_sq_drift", "trace_ratio", "w2_sq"]
    finals = [f"final_{m}_vs_{a}" for m in metrics if m != "collapsed" for a in ("lam", "n_syn")]
    assert names == sorted(metrics + finals)
    assert all((tmp_path / f"{n}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for n in names)
    assert all((tmp_path / f"{n}.pdf").read_bytes()[:5] == b"%PDF-" and b"<svg" in (tmp_path / f"{n}.svg").read_bytes()[:500] for n in names)


def test_figures_draw_the_mean_against_the_expectation(run_dir):
    # The statistic drawn beside a closed-form expectation is the mean (with its confidence band),
    # not the median; the loops' quantiles are context; indicators are fractions.
    import numpy as np

    from mad.report.figures import metric_figure, plotted
    from mad.results import read_netcdf

    ds = read_netcdf(run_dir / "results.nc")
    point = {"lam": 1.0, "n_syn": 10}
    drawn = plotted(ds, "trace_ratio", point)
    here = ds.trace_ratio.sel(point)
    np.testing.assert_array_equal(drawn["mean"], here.sel(stat="mean").values)
    np.testing.assert_allclose(drawn["high"] - drawn["low"], 4 * here.sel(stat="sem").values)
    np.testing.assert_array_equal(drawn["theory"], ds.trace_ratio_theory.sel(point).values)
    np.testing.assert_array_equal(drawn["q05"], here.sel(stat="q05").values)
    assert set(plotted(ds, "collapsed", point)) == {"mean", "low", "high"}  # a fraction, no quantiles
    fig = metric_figure(ds, "trace_ratio")
    solid = [line for line in fig.axes[0].get_lines() if line.get_linestyle() == "-"]
    assert any(np.array_equal(line.get_ydata(), drawn["mean"]) for line in solid)
    assert not any(np.array_equal(line.get_ydata(), here.sel(stat="q50").values) for line in solid)
    # two grid axes: one panel per n_syn, a curve per lam in each
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["n_syn=10", "n_syn=30"]
    assert [len([ln for ln in ax.get_lines() if ln.get_linestyle() == "-"]) for ax in panels] == [2, 2]


def test_the_report_tells_a_heavy_tail_from_a_disagreement():
    import numpy as np
    import xarray as xr

    from mad.report.html import theory_table
    from mad.results import STATS

    def run(top1_share):  # one metric, one point: mean 1 +- 0.01 against a closed form of 2
        values = dict(mean=1.0, std=1.0, sem=0.01, q05=0.1, q25=0.2, q50=0.3, q75=0.5, q95=2.0, top1_share=top1_share)
        stats = np.array([[values[s]] * 2 for s in STATS])
        return xr.Dataset({"m": (("stat", "generation"), stats), "m_theory": ("generation", [2.0, 2.0])}, coords={"stat": list(STATS), "generation": [0, 1]})

    light, heavy = theory_table(run(0.02)), theory_table(run(0.4))
    assert "class=bad>-100.00" in light and "class=tail" not in light and "carry more than" not in light
    assert "class=tail>-100.00" in heavy and "carry more than 10% of the mean" in heavy


@pytest.mark.slow
def test_report_renders_in_chromium_with_every_image(run_dir):
    subprocess.run([sys.executable, "-m", "mad.report", str(run_dir)], check=True, capture_output=True)
    page = (run_dir / "report.html").read_text()
    assert page.count("<img ") == len(list((run_dir / "figures").glob("*.png"))) > 0
    assert "closed form" in page and "lam=0.7" in page
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "the Debian package chromium is needed (.ci/run installs it)"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
    with tempfile.TemporaryDirectory() as profile:
        dom = subprocess.run(
            [chromium, *flags, f"--user-data-dir={profile}", "--virtual-time-budget=10000", "--dump-dom",
             (run_dir / "report.html").resolve().as_uri()],  # fmt: skip
            check=True, capture_output=True, text=True, timeout=120,
        ).stdout
    images = page.count("<img ")
    assert f'data-images-loaded="{images}"' in dom and 'data-images-broken="0"' in dom


def test_report_command_rejects_a_folder_without_results(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "mad.report", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 2 and "results.nc" in proc.stderr


@pytest.mark.slow  # wandb starts its service process
def test_wandb_offline_writes_one_run_per_grid_point(run_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    from mad.results import read_netcdf

    ds = read_netcdf(run_dir / "results.nc")
    figures = write_figures(ds, tmp_path / "figures")
    folder = log_sweep(ds, tmp_path, WandbConfig(mode="disabled", group="test"), figures)  # env wins: offline
    runs = sorted(folder.glob("offline-run-*"))
    assert len(runs) == 4
    for run in runs:
        (record,) = run.glob("run-*.wandb")
        data = record.read_bytes()
        for key in (b"generation", b"trace_ratio/theory", b"trace_ratio/q05", b"final/kl_rev/mean", b"sweep_config"):
            assert key in data, key
        for key in ("git_commit", "jax_version", "command"):  # the provenance in each run's config
            assert key.encode() in data and ds.attrs[key].encode() in data, key
        assert not (run / "files" / "requirements.txt").exists()  # not W&B's list of every installed package
        assert len(list((run / "files" / "media" / "images").rglob("*.png"))) == len(figures)


def test_wandb_disabled_writes_nothing(run_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    from mad.results import read_netcdf

    assert log_sweep(read_netcdf(run_dir / "results.nc"), tmp_path, WandbConfig(mode="disabled"), []) is None
    assert not (tmp_path / "wandb").exists()


def test_online_report_layout(run_dir):
    # Building the W&B Report needs no network (saving it does): one line plot per metric,
    # with the closed form where there is one, grouped by the first grid axis, for this sweep only.
    from mad.results import read_netcdf
    from mad.tracking import build_report

    ds = read_netcdf(run_dir / "results.nc")
    report = build_report(ds, WandbConfig(mode="online", project="p", entity="e"), "sweep-x")
    (grid,) = [b for b in report.blocks if type(b).__name__ == "PanelGrid"]
    assert [p.title.split(":")[0] for p in grid.panels] == [m for m in ds.data_vars if "stat" in ds[m].dims]
    trace = grid.panels[[p.title.split(":")[0] for p in grid.panels].index("trace_ratio")]
    assert list(trace.y) == ["trace_ratio/q50", "trace_ratio/mean", "trace_ratio/theory"] and trace.x == "generation"
    assert grid.runsets[0].filters == "Metric('Group') == 'sweep-x'"


def test_wandb_history_is_every_value_of_the_grid_point(run_dir):
    # Against a value-by-value reference: every metric's bands at every generation, and the
    # closed form wherever it is finite.
    import numpy as np

    from mad.report.figures import metrics_of
    from mad.results import read_netcdf
    from mad.tracking import BANDS, point_history

    ds = read_netcdf(run_dir / "results.nc")
    point = {"lam": 0.7, "n_syn": 30}
    here = ds.sel(point)
    history = point_history(ds, point)
    assert [row["generation"] for row in history] == list(range(7))
    for g, row in enumerate(history):
        expected = {"generation": g}
        for metric in metrics_of(ds):
            for band in BANDS:
                expected[f"{metric}/{band}"] = float(here[metric].sel(stat=band).isel(generation=g))
            theory = float(here[f"{metric}_theory"].isel(generation=g)) if f"{metric}_theory" in ds else np.nan
            if np.isfinite(theory):
                expected[f"{metric}/theory"] = theory
        assert row.keys() == expected.keys() and all(row[k] == expected[k] or (np.isnan(row[k]) and np.isnan(expected[k])) for k in row)
    assert any(k.endswith("/theory") for k in history[1])


@pytest.mark.slow
def test_the_report_command_draws_only_what_is_missing_or_stale(run_dir, tmp_path):
    import os

    from mad.report.__main__ import main

    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(run_dir / "results.nc", run / "results.nc")
    assert main([str(run)]) == 0
    figures = sorted((run / "figures").glob("*.png"))
    stamps = {p: p.stat().st_mtime_ns for p in figures}
    assert len(figures) > 5
    # Nothing changed: nothing is drawn again, the report is rewritten.
    (run / "report.html").unlink()
    assert main([str(run)]) == 0 and (run / "report.html").exists()
    assert {p: p.stat().st_mtime_ns for p in figures} == stamps
    # One figure missing, one older than the results: those two are drawn again, no other.
    gone, stale = figures[0], figures[1]
    gone.unlink()
    os.utime(stale, ns=(stale.stat().st_atime_ns, (run / "results.nc").stat().st_mtime_ns - 10**9))
    assert main([str(run)]) == 0
    redrawn = {p for p in figures if p.stat().st_mtime_ns != stamps[p]}
    assert redrawn == {gone, stale}
    assert main([str(run), "--force"]) == 0
    assert all(p.stat().st_mtime_ns != stamps[p] for p in figures if p not in redrawn)
