"""Typed configuration: frozen dataclasses, their validation, and the Hydra ConfigStore schema.

Library code only ever sees these dataclasses; the Hydra entry point converts its DictConfig once
(see `mad.sweep`). `validate` runs before anything is compiled or written, and its errors name the
offending key and the values it accepts.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import DictConfig, OmegaConf

COVARIANCES = ("full", "diag", "iso")
ESTIMATORS = ("mle", "unbiased")
BACKENDS = ("samples", "suffstats")
LOOPS = ("replace", "augment", "fresh", "accumulate", "accumulate_subsample")
PRECISIONS = ("float32", "float64")
WANDB_MODES = ("offline", "online", "disabled")
CONTINUOUS_DATA = ("gaussian", "gmm_ring", "gmm_grid", "moons", "digits")
DATASETS = CONTINUOUS_DATA + ("zipf", "words", "poisson", "regression")
MODELS = ("gaussian", "gmm", "kde", "flow", "categorical", "poisson", "linreg")
INITS = ("kmeans++", "random")
OPTIMIZERS = ("adam", "adamw", "sgd")
# The data each model family can be fitted to, and the loops it runs in.
MODEL_DATA = {
    "gaussian": CONTINUOUS_DATA, "gmm": CONTINUOUS_DATA, "kde": CONTINUOUS_DATA, "flow": CONTINUOUS_DATA,
    "categorical": ("zipf", "words"), "poisson": ("poisson",), "linreg": ("regression",),
}  # fmt: skip
MODEL_LOOPS = {
    "categorical": ("replace", "augment", "fresh", "accumulate"),
    "poisson": ("replace", "augment", "fresh", "accumulate"),
    "linreg": ("replace", "accumulate"),
}

# Config groups: a grid axis named after one of these chooses among the group's options.
GROUPS = ("data", "model", "loop")
# Grid axes that keep every array shape: vmapped inside one compiled program.
TRACED_AXES = ("loop.lam", "loop.real_weight")


class ConfigError(ValueError):
    """An impossible configuration, reported before any compilation or file output."""


@dataclass(frozen=True)
class DataConfig:
    """The real distribution.

    gaussian: N(0, scale^2 I_dim). gmm_ring / gmm_grid (dim 2): 8 modes on a circle of radius
    `spread`, or the 5 x 5 grid of 25 modes `spread` apart (MAD), each N(centre, scale^2 I); odd
    modes have relative weight `rare_weight`. moons (dim 2): two half circles with noise `scale`.
    digits: scikit-learn's handwritten digits, PCA to `dim`, 20% held out. `n_test` held-out
    points score the models (digits: its held-out split).
    Discrete data: zipf (p_i proportional to i^-exponent over `vocab` symbols), words (the `vocab`
    most common English words with their frequencies from the wordfreq package), poisson
    (Poisson counts of rate `rate`). regression: a fixed Gaussian design of loop.n_syn rows and
    `dim` columns, labels x.w* + N(0, scale^2).
    """

    name: str = "gaussian"
    dim: int = 2
    scale: float = 1.0
    spread: float = 2.0
    rare_weight: float = 1.0
    n_test: int = 1000
    vocab: int = 1000
    exponent: float = 1.1
    rate: float = 1.0


@dataclass(frozen=True)
class ModelConfig:
    """The model family refit every generation.

    gaussian: `covariance`, `estimator`, `backend`. gmm: `components` (K), `covariance` (full or
    diag), EM with `em_iters` iterations stopping at `tol`, covariance floor `reg`, `init`
    (kmeans++ or random) and `warm_start` (start from the previous generation's fit).
    kde: Gaussian kernels of `bandwidth` (null: Scott's rule, refitted each generation).
    flow: RealNVP with `layers` affine couplings of `hidden` units, trained `steps` steps of
    `optimizer` (learning rate `lr`, minibatches of `batch_size`), afresh or from the previous
    generation's network (`warm_start`). categorical: counts plus additive smoothing `alpha`.
    poisson: the mean count. linreg: least squares.
    """

    name: str = "gaussian"
    covariance: str = "full"
    estimator: str = "mle"
    backend: str = "samples"
    components: Optional[int] = None  # None: the data's number of modes (8 without modes)
    em_iters: int = 30
    tol: float = 1e-3
    reg: float = 1e-6
    init: str = "kmeans++"
    warm_start: bool = False
    bandwidth: Optional[float] = None
    alpha: float = 0.0
    layers: int = 4
    hidden: int = 32
    steps: int = 200
    optimizer: str = "adam"
    lr: float = 1e-3
    batch_size: int = 128


@dataclass(frozen=True)
class LoopConfig:
    """How each generation's training data is assembled.

    n_syn synthetic points from the current model (drawn from N(mu, lam Sigma)), n_real real points
    (fixed for `augment`, fresh for `fresh`); generation 1 is fit on n_init real points
    (default n_syn + n_real). `accumulate_subsample` refits on n_fit points drawn without
    replacement from the pool (default n_init). `real_weight` is the total weight w of the real
    part (He et al.); None pools real and synthetic points by their counts. `keep` < 1 draws
    ceil(n_syn / keep) points and keeps the n_syn of highest model log-density (cherry-picking
    for quality, MAD; mixtures only).
    """

    name: str = "replace"
    n_syn: int = 100
    n_real: int = 0
    n_init: Optional[int] = None
    n_fit: Optional[int] = None
    lam: float = 1.0
    real_weight: Optional[float] = None
    keep: float = 1.0

    @property
    def init_size(self) -> int:
        return self.n_init if self.n_init is not None else self.n_syn + self.n_real

    @property
    def fit_size(self) -> int:
        return self.n_fit if self.n_fit is not None else self.init_size


@dataclass(frozen=True)
class SaveConfig:
    per_loop: bool = False


@dataclass(frozen=True)
class ShardConfig:
    """This process runs grid points i with i % count == index (a slice of the grid, e.g. one SLURM
    array task); `python -m mad.merge` joins the slices' results."""

    index: int = 0
    count: int = 1


@dataclass(frozen=True)
class MetricsConfig:
    """Sample-based metrics (families other than the Gaussian): `samples` model draws per loop and
    generation, k-nearest-neighbour manifolds with `k`, and a mode counts as covered when it holds
    at least `mode_share` / M of the draws (M true modes)."""

    samples: int = 512
    k: int = 5
    mode_share: float = 0.25


@dataclass(frozen=True)
class WandbConfig:
    """Weights & Biases: offline by default (no account, no network); WANDB_MODE overrides mode."""

    mode: str = "offline"
    project: str = "mad"
    entity: Optional[str] = None
    group: Optional[str] = None  # default: sweep-<run dir name>
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoggerConfig:
    wandb: WandbConfig = field(default_factory=WandbConfig)


@dataclass(frozen=True)
class Config:
    """One experiment: a real distribution, a model family, a loop, and an optional grid.

    `grid` maps a dotted key (``"loop.lam"``) to the values it takes, or a group name
    (``"loop"``) to a list of group options (names or config objects). Axes are crossed.
    """

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loop: LoopConfig = field(default_factory=LoopConfig)
    save: SaveConfig = field(default_factory=SaveConfig)
    shard: ShardConfig = field(default_factory=ShardConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    logger: LoggerConfig = field(default_factory=LoggerConfig)
    generations: int = 100
    loops: int = 1000
    seed: int = 0
    precision: str = "float32"
    chunk: int = 8192
    collapse_threshold: float = 1e-6
    progress: bool = True
    resume: bool = False
    grid: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# validation


def _choice(key: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{key}={value!r} is not allowed; choose one of {', '.join(allowed)}")


def _integer(key: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key}={value!r} must be an integer >= {minimum}")
    if value < minimum:
        raise ConfigError(f"{key}={value} must be an integer >= {minimum}")


def _fit_sizes(loop: LoopConfig) -> dict[str, int]:
    """The number of points each kind of fit of this loop sees, keyed by the keys that set it."""
    if loop.name == "accumulate_subsample":
        return {"loop.n_fit": loop.fit_size}
    sizes = {}
    if loop.name in ("replace", "augment", "fresh"):
        sizes["loop.n_syn" if loop.n_real == 0 else "loop.n_syn + loop.n_real"] = loop.n_syn + loop.n_real
    sizes["loop.n_init"] = loop.init_size
    return sizes


def validate(config: Config) -> Config:
    """Check one grid point's config; return it unchanged or raise ConfigError."""
    data, model, loop = config.data, config.model, config.loop
    _choice("data.name", data.name, DATASETS)
    _integer("data.dim", data.dim, 1)
    if not (isinstance(data.scale, (int, float)) and math.isfinite(data.scale) and data.scale > 0):
        raise ConfigError(f"data.scale={data.scale!r} must be a finite number > 0")
    _choice("model.name", model.name, MODELS)
    _choice("model.covariance", model.covariance, COVARIANCES)
    _choice("model.estimator", model.estimator, ESTIMATORS)
    _choice("model.backend", model.backend, BACKENDS)
    _choice("loop.name", loop.name, LOOPS)
    if data.name not in MODEL_DATA[model.name]:
        raise ConfigError(f"data={data.name} cannot be fitted by model={model.name}; choose data from {', '.join(MODEL_DATA[model.name])}")
    if loop.name not in MODEL_LOOPS.get(model.name, LOOPS):
        raise ConfigError(f"loop={loop.name} is not available for model={model.name}; choose one of {', '.join(MODEL_LOOPS[model.name])}")
    if model.name in ("gmm", "kde", "flow"):
        _validate_points_family(config)
    elif model.name in ("categorical", "poisson", "linreg"):
        _validate_counting_family(config)
    elif data.name != "gaussian" and model.backend != "samples":
        raise ConfigError(f"data={data.name} is not Gaussian: model=gaussian needs model.backend=samples to draw it")
    _choice("precision", config.precision, PRECISIONS)
    _choice("logger.wandb.mode", config.logger.wandb.mode, WANDB_MODES)
    _integer("generations", config.generations, 1)
    _integer("loops", config.loops, 1)
    _integer("seed", config.seed, 0)
    _integer("chunk", config.chunk, 1)
    _integer("shard.count", config.shard.count, 1)
    if not (isinstance(config.shard.index, int) and 0 <= config.shard.index < config.shard.count):
        raise ConfigError(f"shard.index={config.shard.index!r} must be an integer in 0..shard.count-1 = {config.shard.count - 1}")
    _integer("loop.n_syn", loop.n_syn, 1)
    _integer("loop.n_real", loop.n_real, 0)
    if loop.n_init is not None:
        _integer("loop.n_init", loop.n_init, 1)
    if loop.n_fit is not None:
        _integer("loop.n_fit", loop.n_fit, 1)
    if not (0.0 < config.collapse_threshold < 1.0):
        raise ConfigError(
            f"collapse_threshold={config.collapse_threshold!r} must lie in (0, 1): the "
            "geometric-mean variance ratio below which a loop counts as collapsed"
        )
    if not (isinstance(loop.lam, (int, float)) and 0.0 < loop.lam <= 1.0):
        raise ConfigError(f"loop.lam={loop.lam!r} must lie in (0, 1] (1 = unbiased sampling)")
    if not (isinstance(loop.keep, (int, float)) and 0.0 < loop.keep <= 1.0):
        raise ConfigError(f"loop.keep={loop.keep!r} must lie in (0, 1] (1 = keep every draw)")
    if loop.keep < 1.0 and model.name != "gmm":
        raise ConfigError(f"loop.keep={loop.keep} (cherry-picking) needs model=gmm; use loop.lam for Gaussians")
    if model.name == "poisson" and loop.lam != 1.0:
        raise ConfigError(f"loop.lam={loop.lam} has no meaning for model=poisson (a count has no temperature); leave it 1")

    if loop.real_weight is not None:
        if loop.name not in ("augment", "fresh"):
            raise ConfigError(
                f"loop.real_weight={loop.real_weight!r} is only used by loop=augment or "
                f"loop=fresh (got loop={loop.name}); leave it null"
            )
        if not (0.0 <= loop.real_weight <= 1.0):
            raise ConfigError(f"loop.real_weight={loop.real_weight!r} must lie in [0, 1] or be null")
        if loop.n_real == 0:
            raise ConfigError("loop.real_weight needs real data: set loop.n_real >= 1")
    if loop.name in ("replace", "accumulate", "accumulate_subsample") and loop.n_real != 0:
        raise ConfigError(
            f"loop.n_real={loop.n_real} must be 0 for loop={loop.name}: its only real data is the "
            "initial sample of loop.n_init points"
        )
    if loop.name == "augment" and loop.init_size < loop.n_real:
        raise ConfigError(
            f"loop.n_init={loop.init_size} must be >= loop.n_real={loop.n_real} for loop=augment: "
            "the fixed real set is part of the initial sample"
        )
    if loop.name == "accumulate_subsample":
        if model.backend != "samples":
            raise ConfigError(
                "loop=accumulate_subsample draws points from a pool and needs "
                "model.backend=samples (got suffstats)"
            )
        if loop.fit_size > loop.init_size:
            raise ConfigError(
                f"loop.n_fit={loop.fit_size} must be <= loop.n_init={loop.init_size}: the first "
                "fit draws n_fit points from the initial pool"
            )
    elif loop.n_fit is not None:
        raise ConfigError(f"loop.n_fit is only used by loop=accumulate_subsample (got loop={loop.name})")

    if model.name in ("categorical", "poisson", "linreg"):
        return config
    # Every fit must determine its covariance: n > d points for a full covariance, n >= 2 else.
    need = data.dim + 1 if model.covariance == "full" or model.name == "flow" else 2
    for key, size in _fit_sizes(loop).items():
        if size < need:
            what = f"more than data.dim={data.dim} points for a full covariance" if model.covariance == "full" else "at least 2 points"
            raise ConfigError(f"{key}={size} is too small: a fit needs {what}")
    return config


# Modes of the mixture data sets, and the component count used for data without modes.
DATA_MODES = {"gmm_ring": 8, "gmm_grid": 25}
DEFAULT_COMPONENTS = 8


def components_of(config: Config) -> int:
    """model.components, or the data's number of modes when it is null."""
    if config.model.components is not None:
        return config.model.components
    return DATA_MODES.get(config.data.name, DEFAULT_COMPONENTS)


def _positive(key: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{key}={value!r} must be a finite number > 0")


def _validate_counting_family(config: Config) -> None:
    """categorical, poisson and linreg: sufficient statistics, no sample metrics."""
    data, model, loop = config.data, config.model, config.loop
    if model.backend != "samples":
        raise ConfigError(f"model={model.name} has one backend: model.backend must be samples")
    if model.name == "categorical":
        _integer("data.vocab", data.vocab, 2)
        if data.name == "zipf":
            _positive("data.exponent", data.exponent)
        if data.name == "words" and data.vocab > 50000:
            raise ConfigError(f"data.vocab={data.vocab} must be <= 50000 for data=words (wordfreq's English list)")
        if not (isinstance(model.alpha, (int, float)) and model.alpha >= 0):
            raise ConfigError(f"model.alpha={model.alpha!r} must be >= 0 (additive smoothing; 0 = none)")
    if model.name == "poisson":
        _positive("data.rate", data.rate)
    if model.name == "linreg":
        if loop.init_size != loop.n_syn:
            raise ConfigError(
                f"loop.n_init={loop.init_size} must equal loop.n_syn={loop.n_syn} for model=linreg: "
                "every generation relabels the same fixed design of n_syn rows"
            )
        if loop.n_syn < data.dim + 2:
            raise ConfigError(f"loop.n_syn={loop.n_syn} must be >= data.dim + 2 = {data.dim + 2} rows for least squares")


def _validate_points_family(config: Config) -> None:
    """gmm, kde and flow: fitted on points, scored by the sample metrics."""
    data, model, metrics = config.data, config.model, config.metrics
    if model.backend != "samples":
        raise ConfigError(f"model={model.name} fits points: model.backend must be samples")
    if model.name == "gmm":
        _choice("model.covariance", model.covariance, ("full", "diag"))
        _choice("model.init", model.init, INITS)
        if model.components is not None:
            _integer("model.components", model.components, 1)
        _integer("model.em_iters", model.em_iters, 1)
        if not model.reg >= 0:
            raise ConfigError(f"model.reg={model.reg!r} must be >= 0")
    if model.name == "kde" and model.bandwidth is not None:
        _positive("model.bandwidth", model.bandwidth)
    if model.name == "flow":
        _integer("model.layers", model.layers, 1)
        _integer("model.hidden", model.hidden, 1)
        _integer("model.steps", model.steps, 1)
        _integer("model.batch_size", model.batch_size, 1)
        _positive("model.lr", model.lr)
        _choice("model.optimizer", model.optimizer, OPTIMIZERS)
    if data.name in ("gmm_ring", "gmm_grid", "moons") and data.dim != 2:
        raise ConfigError(f"data={data.name} is two-dimensional: data.dim must be 2 (got {data.dim})")
    if data.name == "digits" and not 1 <= data.dim <= 64:
        raise ConfigError(f"data.dim={data.dim} must lie in 1..64 for data=digits (8 x 8 images, PCA-reduced)")
    if not data.rare_weight > 0:
        raise ConfigError(f"data.rare_weight={data.rare_weight!r} must be > 0")
    _integer("data.n_test", data.n_test, metrics.k + 1)
    _integer("metrics.samples", metrics.samples, metrics.k + 1)
    _integer("metrics.k", metrics.k, 1)
    k = components_of(config) if model.name == "gmm" else 1
    for key, size in _fit_sizes(config.loop).items():
        if size < k:
            raise ConfigError(f"{key}={size} is too small: EM with model.components={k} needs as many points")


# --------------------------------------------------------------------------------------------
# grids


def replace_path(config: Config, path: str, value: Any) -> Config:
    """Return a copy of `config` with the dotted `path` set to `value`."""
    head, _, rest = path.partition(".")
    if not hasattr(config, head) or head == "grid":
        raise ConfigError(f"grid axis {path!r}: {head!r} is not a config key")
    if not rest:
        return dataclasses.replace(config, **{head: value})
    child = getattr(config, head)
    if not dataclasses.is_dataclass(child):
        raise ConfigError(f"grid axis {path!r}: {head!r} has no sub-keys")
    if not any(f.name == rest.partition(".")[0] for f in dataclasses.fields(child)):
        allowed = ", ".join(f"{head}.{f.name}" for f in dataclasses.fields(child))
        raise ConfigError(f"grid axis {path!r} is not a config key; {head} has {allowed}")
    return dataclasses.replace(config, **{head: replace_path(child, rest, value)})


def axis_name(path: str) -> str:
    """Grid axes are named by their last key: 'loop.lam' -> 'lam', 'loop' -> 'loop'."""
    return path.rsplit(".", 1)[-1]


def option_name(value: Any) -> Any:
    """The coordinate of a grid value: a group option's name, or the value itself."""
    return value.name if dataclasses.is_dataclass(value) else value


# --------------------------------------------------------------------------------------------
# Hydra schema

SCHEMA_NAME = "mad_schema"


def _unlock(node: DictConfig) -> DictConfig:
    """Frozen dataclasses give read-only nodes; composition must write into them, so unlock
    (the typed objects made from the composed config are frozen again)."""
    OmegaConf.set_readonly(node, False)
    for key in node:
        child = node._get_node(key)
        if isinstance(child, DictConfig):
            _unlock(child)
    return node


def register_configs() -> None:
    """Register the typed schema that conf/config.yaml extends (its first default)."""
    ConfigStore.instance().store(name=SCHEMA_NAME, node=_unlock(OmegaConf.structured(Config)))
