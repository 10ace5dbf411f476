"""A static report.html for a run directory: figures, the config, final values against theory.

The page needs no server: figures are referenced by relative paths (figures/*.png), so the
folder can be opened, copied or zipped as it is. A small script marks, once the page has loaded,
how many images loaded (`data-images-loaded`, `data-images-broken` on <body>) so that a headless
browser can check the page.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import xarray as xr

from mad.files import atomic_path
from mad.report.figures import grid_axes, metrics_of

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; }
h1 { margin-bottom: 0.2rem; } .sub { color: #666; margin-top: 0; }
figure { display: inline-block; margin: 0.5rem; } figure img { max-width: 520px; border: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.85rem; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: right; }
th { background: #f3f3f3; } td.text { text-align: left; }
td.bad { background: #fde2e2; } td.good { background: #e3f6e3; } td.tail { background: #fff1d6; }
pre { background: #f7f7f7; padding: 1rem; overflow-x: auto; font-size: 0.8rem; }
"""

CHECK_IMAGES = """
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const loaded = images.filter((img) => img.complete && img.naturalWidth > 0).length;
  document.body.dataset.imagesLoaded = String(loaded);
  document.body.dataset.imagesBroken = String(images.length - loaded);
});
"""


def _fmt(x: float) -> str:
    return "" if not np.isfinite(x) else f"{x:.4g}"


# A mean whose largest 1% of loops carry more than this share of sum |x| is heavy-tailed.
HEAVY_TAIL = 0.1


def heavy_tailed(top1_share: float) -> bool:
    """A few extreme loops carry the mean (a log-normal-like law): its standard error, estimated
    from the same loops, is then unreliable."""
    return bool(np.isfinite(top1_share) and top1_share > HEAVY_TAIL)


TAIL_NOTE = (
    f"<p>z marked orange: the largest 1% of the loops carry more than {HEAVY_TAIL:.0%} of the mean (column "
    "'top 1%'), so the mean rests on a few extreme loops and its sem, estimated from the same loops, is "
    "unreliable; a large |z| there is no evidence against the closed form. Compare on the log scale where "
    "the theory gives one (logdet_ratio for the Gaussian's variance), or with many more loops.</p>"
)


def theory_table(ds: xr.Dataset, z_limit: float = 5.0) -> str:
    """Final generation: simulated mean +- sem against the closed form, with z = (mean - theory) / sem;
    a heavy-tailed mean (see `heavy_tailed`) is marked as such rather than as a disagreement."""
    axes = grid_axes(ds)
    final = ds.isel(generation=-1)
    rows = []
    stacked = final.stack(point=axes) if axes else final.expand_dims(point=[0])
    for metric in metrics_of(ds):
        theory = f"{metric}_theory"
        if theory not in ds:
            continue
        for i in range(stacked.sizes["point"]):
            here = stacked.isel(point=i)
            expected = float(here[theory])
            if not np.isfinite(expected):
                continue
            mean, sem = float(here[metric].sel(stat="mean")), float(here[metric].sel(stat="sem"))
            tail = float(here[metric].sel(stat="top1_share"))
            z = (mean - expected) / sem if sem > 0 else (0.0 if mean == expected else np.inf)
            where = ", ".join(f"{a}={here[a].item()}" for a in axes)
            cls = "good" if abs(z) <= z_limit else ("tail" if heavy_tailed(tail) else "bad")
            rows.append(
                f"<tr><td class=text>{html.escape(metric)}</td><td class=text>{html.escape(where)}</td>"
                f"<td>{_fmt(mean)}</td><td>{_fmt(sem)}</td><td>{_fmt(expected)}</td><td class={cls}>{z:+.2f}</td><td>{_fmt(tail)}</td></tr>"
            )
    if not rows:
        return "<p>No closed form applies to these grid points.</p>"
    head = "<tr><th>metric</th><th>grid point</th><th>mean</th><th>sem</th><th>closed form</th><th>z</th><th>top 1%</th></tr>"
    note = TAIL_NOTE if any("class=tail" in row for row in rows) else ""
    return f"<table>{head}{''.join(rows)}</table>{note}"


def write_report(ds: xr.Dataset, run_dir: str | Path, figures: list[Path], extra: str = "") -> Path:
    """Write run_dir/report.html (atomically) referencing the given figure files; `extra` is an
    HTML section of the family's own (FamilySpec.showcase) placed after the figures."""
    run_dir = Path(run_dir)
    gens = int(ds.generation.values[-1])
    loops = html.escape(str(ds.attrs.get("loops", "?")))
    images = "\n".join(
        f'<figure><img src="{html.escape(p.relative_to(run_dir).as_posix())}" alt="{html.escape(p.stem)}"></figure>'
        for p in figures
    )
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>mad report: {html.escape(run_dir.name)}</title>
<style>{STYLE}</style></head>
<body>
<h1>mad report</h1>
<p class="sub">{html.escape(str(run_dir))}: {loops} loops per grid point, {gens} generations;
device {html.escape(str(ds.attrs.get("device", "?")))}, jax {html.escape(str(ds.attrs.get("jax_version", "?")))};
mad {html.escape(str(ds.attrs.get("mad_version", "?")))}, commit {html.escape(str(ds.attrs.get("git_commit", "?"))[:12])}{" (with uncommitted changes)" if ds.attrs.get("git_dirty") == "true" else ""}</p>
<p class="sub"><code>{html.escape(str(ds.attrs.get("command", "")))}</code></p>
<h2>Final generation against the closed form</h2>
<p>z = (mean - closed form) / sem; |z| &le; 5 is marked green. Every closed form, with its
derivation and assumptions, is in docs/theory.md of the mad repository.</p>
{theory_table(ds)}
<h2>Figures</h2>
<p>Each metric: the mean over loops with its &plusmn;2 sem band (solid), the closed-form
expectation where one exists (dashed), and faintly the q05-q95 range of single loops as context;
indicator metrics show the fraction of loops.</p>
{images}
{extra}
<h2>Config</h2>
<pre>{html.escape(str(ds.attrs.get("config", "")))}</pre>
<script>{CHECK_IMAGES}</script>
</body></html>
"""
    path = run_dir / "report.html"
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path
