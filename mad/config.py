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
from omegaconf import DictConfig, ListConfig, OmegaConf

COVARIANCES = ("full", "diag", "iso")
ESTIMATORS = ("mle", "unbiased")
BACKENDS = ("samples", "suffstats")
PRECISIONS = ("float32", "float64")
WANDB_MODES = ("offline", "online", "disabled")
# The data sets whose dimension is fixed or bounded: (lowest, highest, why).
DATA_DIMS = {
    "gmm_ring": (2, 2, "modes on a circle in the plane"),
    "gmm_grid": (2, 2, "a 5 x 5 grid of modes in the plane"),
    "moons": (2, 2, "two half circles in the plane"),
    "digits": (1, 64, "8 x 8 images, PCA-reduced"),
    "digit_images": (64, 64, "8 x 8 images of 64 pixels"),
}
DATASETS = ("gaussian", "gmm_ring", "gmm_grid", "moons", "digits", "digit_images", "zipf", "words", "poisson", "regression", "two_classes", "text")
# Model families and loops are registered in mad.families.FAMILIES and mad.loops.LOOPS.

# Config groups: a grid axis named after one of these chooses among the group's options.
GROUPS = ("data", "model", "loop")


# data.scale such that variances (scale^2) and sums of a million of them stay normal and finite.
SCALE_RANGE = {"float32": (1e-15, 1e15), "float64": (1e-150, 1e150)}


class ConfigError(ValueError):
    """An impossible configuration, reported before any compilation or file output."""


@dataclass(frozen=True)
class DataConfig:
    """The real distribution.

    gaussian: N(0, scale^2 I_dim). gmm_ring / gmm_grid (dim 2): 8 modes on a circle of radius
    `spread`, or the 5 x 5 grid of 25 modes `spread` apart (MAD), each N(centre, scale^2 I); odd
    modes have relative weight `rare_weight`. moons (dim 2): two half circles with noise `scale`,
    arc positions drawn uniformly at random (`spacing=random`) or, like scikit-learn's
    make_moons, n // 2 points evenly spaced on the upper arc and the rest on the lower
    (`spacing=even`).
    digits: scikit-learn's handwritten digits, PCA to `dim`, 20% held out. digit_images: the same
    digits as pictures (dim 64, pixels in [0, 1]; labels only train the metrics' classifier), the
    same 20% held out. `n_test` held-out points score the models (digits, digit_images: the
    held-out split).
    Discrete data: zipf (p_i proportional to i^-exponent over `vocab` symbols), words (the `vocab`
    most common English words with their frequencies from the wordfreq package), poisson
    (Poisson counts of rate `rate`). regression: a Gaussian design of loop.n_syn rows and `dim`
    columns, labels x.w* + N(0, scale^2); `design=fixed` uses one design for every loop,
    `design=per_loop` draws each loop's own (as peers do per seed). two_classes: labels y = +-1,
    equally likely, and x = y (spread / 2) e_1 + scale z, z ~ N(0, I_dim) (class means `spread`
    apart). text: real English characters (mad.data.text; CPython's documentation, or the UTF-8
    file `path`), the `vocab` most frequent symbols, sequences of `context` characters, `n_test`
    held-out windows.
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
    spacing: str = "random"
    design: str = "fixed"
    context: int = 32
    path: Optional[str] = None


SPACINGS = ("random", "even")
DESIGNS = ("fixed", "per_loop")


def ModelConfig(name: str = "gaussian", **keys: Any) -> Any:
    """The typed config of model family `name` (its module's dataclass, e.g.
    `mad.families.gmm.GmmConfig`) with the given keys; every other key keeps that family's
    default. A key the family does not have is a ConfigError naming the family's keys.

    Each family declares its own keys and their one default (its spec's `config`), so
    `model.hidden` means something for model=flow only.
    """
    from mad.families import family_spec

    return family_spec(name).make_config(name=name, **keys)


@dataclass(frozen=True)
class LoopConfig:
    """How each generation's training data is assembled.

    n_syn synthetic points from the current model (drawn from N(mu, lam Sigma)), n_real real points
    (fixed for `augment`, fresh for `fresh`); generation 1 is fit on n_init real points
    (default n_syn + n_real). `accumulate_subsample` refits on n_fit points drawn without
    replacement from the pool (default n_init). `real_weight` is the total weight w of the real
    part (He et al.); None pools real and synthetic points by their counts. `keep` < 1 draws
    ceil(n_syn / keep) points and keeps the n_syn of highest model log-density (cherry-picking
    for quality, MAD; a loop-level stage, mad.loops.curation, for every family that scores its draws).
    """

    name: str = "replace"
    n_syn: int = 100
    n_real: int = 0
    n_init: Optional[int] = None
    n_fit: Optional[int] = None
    # Traced knobs (metadata traced=True): grid points differing only in them share one compiled
    # program and are vmapped inside it (mad.loops.Knobs holds their values).
    lam: float = field(default=1.0, metadata={"traced": True})
    real_weight: Optional[float] = field(default=None, metadata={"traced": True})
    keep: float = 1.0
    # Truncated sampling of a vocabulary (families with `truncation`): temperature tau > 0, then the
    # top_k most probable symbols, then the smallest set of mass >= top_p; lam is a further
    # temperature (p^(1 / (lam tau))).
    temperature: float = 1.0
    top_k: Optional[int] = None
    top_p: float = 1.0

    @property
    def init_size(self) -> int:
        return self.n_init if self.n_init is not None else self.n_syn + self.n_real

    @property
    def draw_size(self) -> int:
        """The most points one generation of a mixing loop draws: its real start or its mix."""
        return max(self.init_size, self.n_syn + self.n_real)

    @property
    def fit_size(self) -> int:
        return self.n_fit if self.n_fit is not None else self.init_size


@dataclass(frozen=True)
class ScheduleConfig:
    """How the loop's knobs change over generations (Shumailov et al.: a growing web).
    `n_syn` names the schedule of loop.n_syn for the fit of generation t = 2..G:
    constant (n_syn), linear (n_syn * t), power (n_syn * t^power), logistic (from n_syn up to
    n_max, centred on generation `midpoint` with width `width`), or an explicit list with one size
    per loop step (generations - 1 entries). Generation 1 is the fit on loop.n_init real points.
    Sizes are rounded to integers. Families draw a schedule's samples in law (model=gaussian
    with model.backend=suffstats, model=poisson), so a fit on 10^6 points costs what one on 100 does.
    `n_real` (the fresh loop's real points), `lam` and `real_weight` are `constant` (the loop's own
    value), a list with one value per loop step (replacing loop.n_real, loop.lam and
    loop.real_weight in the steps), or a named curve (linear, power, logistic) from the loop's own
    value in the first step to `n_real_end`, `lam_end` or `real_weight_end` in the last: the
    synthetic share of a growing web, a sampling bias that changes (mad.loops.schedule).
    """

    n_syn: Any = "constant"
    power: float = 2.0
    n_max: Optional[int] = None
    midpoint: Optional[float] = None  # default: generations / 2
    width: Optional[float] = None  # default: generations / 10
    n_real: Any = "constant"
    lam: Any = "constant"
    real_weight: Any = "constant"
    n_real_end: Optional[int] = None  # a named n_real curve's value in the last step
    lam_end: Optional[float] = None
    real_weight_end: Optional[float] = None

    def __post_init__(self) -> None:
        for key in ("n_syn", "n_real", "lam", "real_weight"):  # lists of values, kept hashable
            if isinstance(getattr(self, key), (list, ListConfig)):
                object.__setattr__(self, key, tuple(getattr(self, key)))


@dataclass(frozen=True)
class CurationConfig:
    """Curation by reward (Ferbach et al. 2024): each synthetic point is chosen among `candidates`
    draws of the model, by a Bradley-Terry draw with probabilities proportional to exp(r(x))
    (`choice=bt`) or as the best of them (`choice=argmax`). Rewards: `quadratic`
    r(x) = -gamma/2 ||x - target e_1||^2, `linear` r(x) = gamma x_1, `density` r(x) = gamma log p(x)
    (the model's own density); `none` draws as usual. Any family that draws points can be curated
    (mad.loops.curation); Gaussians need model.backend=samples.
    """

    reward: str = "none"
    candidates: int = 4
    choice: str = "bt"
    gamma: float = 1.0
    target: float = 0.0


@dataclass(frozen=True)
class CorrectionConfig:
    """Self-correction (Gillman et al., ICML 2024, "Self-correcting self-consuming loops"): the
    synthetic data are drawn from their corrected law pi_gamma p_theta = (p_theta + gamma p*) /
    (1 + gamma), p* the real distribution (the paper's p_theta* for a family that contains it):
    each synthetic point is, with probability gamma / (1 + gamma), replaced by a draw of the real
    distribution (an idealised corrector that knows the truth; mad.loops.correction). gamma = 0:
    no correction."""

    gamma: float = 0.0


@dataclass(frozen=True)
class VerifierConfig:
    """Verification of labelled synthetic data (Feng et al., ICLR 2025, "Beyond model collapse"):
    each synthetic example is kept with probability `tpr` when its label is correct and `fpr` when
    it is wrong; tpr = fpr = 1 keeps everything (no verifier). Families with labels only."""

    tpr: float = 1.0
    fpr: float = 1.0

    @property
    def active(self) -> bool:
        return (self.tpr, self.fpr) != (1.0, 1.0)


REWARDS = ("none", "quadratic", "linear", "density")
CHOICES = ("bt", "argmax")


@dataclass(frozen=True)
class SaveConfig:
    per_loop: bool = False
    formats: tuple[str, ...] = ("png",)  # figure files: png (always; the report shows it), pdf, svg


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
    at least `mode_share` / M of the draws (M true modes). `test_set`: `fixed` scores every loop on
    one held-out set (the SE then covers the loops' spread given that set), `per_loop` scores
    nll_test on each loop's own set (fresh real draws, or a bootstrap of the held-out split for
    data without a known law), so the SE also covers the choice of test set; the k-NN metrics
    and MMD keep the fixed set (their real side is computed once). `every`: metrics of
    generations 0, 1, every, 2 every, ... and the last only (`measured`), for runs whose metrics
    cost more than their loops; the loops themselves still run every generation."""

    samples: int = 512
    k: int = 5
    mode_share: float = 0.25
    test_set: str = "fixed"
    every: int = 1

    def measured_count(self, generations: int) -> int:
        """How many generations `measured` lists, without listing them (generations may be huge)."""
        if self.every == 1 or generations <= 1:
            return generations + 1
        return 2 + generations // self.every + (generations % self.every != 0)

    def measured(self, generations: int):
        """The generations whose metrics are computed (a numpy array): 0, 1, multiples of `every`,
        and the last."""
        import numpy as np

        t = np.arange(generations + 1)
        return t[(t <= 1) | (t % self.every == 0) | (t == generations)]


TEST_SETS = ("fixed", "per_loop")
FIGURE_FORMATS = ("png", "pdf", "svg")


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
    model: Any = field(default_factory=ModelConfig)
    loop: LoopConfig = field(default_factory=LoopConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    curation: CurationConfig = field(default_factory=CurationConfig)
    correction: CorrectionConfig = field(default_factory=CorrectionConfig)
    verifier: VerifierConfig = field(default_factory=VerifierConfig)
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
    overwrite: bool = False
    compile_cache: Optional[str] = "~/.cache/mad/jax"
    grid: dict[str, Any] = field(default_factory=dict)


TRACED_KNOBS = tuple(f.name for f in dataclasses.fields(LoopConfig) if f.metadata.get("traced"))
"""The LoopConfig fields that are traced values inside a program rather than static settings."""


# --------------------------------------------------------------------------------------------
# validation


def choice(key: str, value: Any, allowed) -> None:
    if value not in allowed:
        raise ConfigError(f"{key}={value!r} is not allowed; choose one of {', '.join(map(str, allowed))}")


def integer(key: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key}={value!r} must be an integer >= {minimum}")
    if value < minimum:
        raise ConfigError(f"{key}={value} must be an integer >= {minimum}")


def validate(config: Config) -> Config:
    """Check one grid point's config; return it unchanged or raise ConfigError.

    Generic keys are checked here; the chosen family and loop check their own (their specs'
    `validate`), and the registries say which data and loops a family accepts.
    """
    from mad.families import FAMILIES, family_spec
    from mad.loops import LOOPS, loop_spec

    data, model, loop = config.data, config.model, config.loop
    choice("precision", config.precision, PRECISIONS)
    choice("data.name", data.name, DATASETS)
    integer("data.dim", data.dim, 1)
    if data.name in DATA_DIMS and not DATA_DIMS[data.name][0] <= data.dim <= DATA_DIMS[data.name][1]:
        low, high, what = DATA_DIMS[data.name]
        raise ConfigError(f"data.dim={data.dim} must be {low if low == high else f'{low}..{high}'} for data={data.name} ({what})")
    if not (isinstance(data.scale, (int, float)) and math.isfinite(data.scale) and data.scale > 0):
        raise ConfigError(f"data.scale={data.scale!r} must be a finite number > 0")
    low, high = SCALE_RANGE[config.precision]
    if not low <= data.scale <= high:
        raise ConfigError(
            f"data.scale={data.scale!r} must lie in [{low:g}, {high:g}] with precision={config.precision}: its square, the "
            "variance, and sums of it must stay finite and normal (rescale the data, or use precision=float64)"
        )
    family = family_spec(model.name)
    looping = loop_spec(loop.name)
    if data.name not in family.data:
        raise ConfigError(f"data={data.name} cannot be fitted by model={model.name}; choose data from {', '.join(family.data)}")
    runs_in = [
        name for name, spec in LOOPS.items()
        if (family.loops is None or name in family.loops) and (family.draws_points or not spec.needs_points)
    ]  # fmt: skip
    if loop.name not in runs_in:
        raise ConfigError(f"loop={loop.name} is not available for model={model.name}; choose one of {', '.join(runs_in)}")
    choice("data.spacing", data.spacing, SPACINGS)
    choice("data.design", data.design, DESIGNS)
    if data.design != "fixed" and data.name != "regression":
        raise ConfigError(f"data.design={data.design} is only used by data=regression (got data={data.name}); leave it fixed")
    positive("data.spread", data.spread)
    positive("data.rare_weight", data.rare_weight)
    if not (isinstance(config.metrics.mode_share, (int, float)) and 0.0 < config.metrics.mode_share <= 1.0):
        raise ConfigError(f"metrics.mode_share={config.metrics.mode_share!r} must lie in (0, 1]")
    choice("metrics.test_set", config.metrics.test_set, TEST_SETS)
    integer("metrics.every", config.metrics.every, 1)
    for kind in config.save.formats:
        choice("save.formats", kind, FIGURE_FORMATS)
    choice("logger.wandb.mode", config.logger.wandb.mode, WANDB_MODES)
    wandb = config.logger.wandb
    if not isinstance(wandb.project, str) or not wandb.project or "/" in wandb.project:
        raise ConfigError(f"logger.wandb.project={wandb.project!r} must be a non-empty name without '/' (W&B refuses it after the run)")
    for tag in wandb.tags:
        if not isinstance(tag, str) or not 1 <= len(tag) <= 64:
            raise ConfigError(f"logger.wandb.tags: {tag!r} must be a string of 1 to 64 characters (W&B's limit)")
    if config.compile_cache is not None and (not isinstance(config.compile_cache, str) or not config.compile_cache):
        raise ConfigError(f"compile_cache={config.compile_cache!r} must be a folder path, or null to keep no compiled programs")
    integer("generations", config.generations, 1)
    integer("loops", config.loops, 1)
    integer("seed", config.seed, 0)
    if config.seed >= 2**32:
        raise ConfigError(f"seed={config.seed} must be < 2^32 = {2**32} (JAX keys hold 32 bits; larger seeds would alias)")
    integer("chunk", config.chunk, 1)
    integer("shard.count", config.shard.count, 1)
    if not (isinstance(config.shard.index, int) and 0 <= config.shard.index < config.shard.count):
        raise ConfigError(f"shard.index={config.shard.index!r} must be an integer in 0..shard.count-1 = {config.shard.count - 1}")
    integer("loop.n_syn", loop.n_syn, 1)
    integer("loop.n_real", loop.n_real, 0)
    if loop.n_init is not None:
        integer("loop.n_init", loop.n_init, 1)
    if loop.n_fit is not None:
        integer("loop.n_fit", loop.n_fit, 1)
    if not (0.0 < config.collapse_threshold < 1.0):
        raise ConfigError(
            f"collapse_threshold={config.collapse_threshold!r} must lie in (0, 1): the "
            "relative size (each family's `collapsed` metric says of what) below which a loop counts as collapsed"
        )
    if not (isinstance(loop.lam, (int, float)) and 0.0 < loop.lam <= 1.0):
        raise ConfigError(f"loop.lam={loop.lam!r} must lie in (0, 1] (1 = unbiased sampling)")
    if not (isinstance(loop.keep, (int, float)) and 0.0 < loop.keep <= 1.0):
        raise ConfigError(f"loop.keep={loop.keep!r} must lie in (0, 1] (1 = keep every draw)")
    if loop.keep < 1.0 and not family.curation:
        curating = " or ".join(f"model={name}" for name, spec in FAMILIES.items() if spec.curation)
        raise ConfigError(f"loop.keep={loop.keep} (cherry-picking) needs {curating}; use loop.lam for the others")
    if not (isinstance(loop.temperature, (int, float)) and math.isfinite(loop.temperature) and loop.temperature > 0):
        raise ConfigError(f"loop.temperature={loop.temperature!r} must be a finite number > 0 (1: the model's own distribution)")
    if loop.top_k is not None:
        integer("loop.top_k", loop.top_k, 1)
    if not (isinstance(loop.top_p, (int, float)) and 0.0 < loop.top_p <= 1.0):
        raise ConfigError(f"loop.top_p={loop.top_p!r} must lie in (0, 1] (1: no nucleus truncation)")
    truncating = [k for k, off in (("temperature", 1.0), ("top_k", None), ("top_p", 1.0)) if getattr(loop, k) != off]
    if truncating and not family.truncation:
        vocab = " or ".join(f"model={name}" for name, spec in FAMILIES.items() if spec.truncation)
        key = truncating[0]
        raise ConfigError(
            f"loop.{key}={getattr(loop, key)!r} (truncated sampling) needs a family that samples a vocabulary: {vocab}; "
            f"model={model.name} has none (its sampling bias is loop.lam)"
        )
    if not family.sampling_bias and loop.lam != 1.0:
        raise ConfigError(f"loop.lam={loop.lam} has no meaning for model={model.name} (it has no sampling bias); leave it 1")

    if loop.real_weight is not None:
        if not looping.weighted:
            weighted = " or ".join(f"loop={name}" for name, spec in LOOPS.items() if spec.weighted)
            raise ConfigError(f"loop.real_weight={loop.real_weight!r} is only used by {weighted} (got loop={loop.name}); leave it null")
        if not (0.0 <= loop.real_weight <= 1.0):
            raise ConfigError(f"loop.real_weight={loop.real_weight!r} must lie in [0, 1] or be null")
        if loop.n_real == 0:
            raise ConfigError("loop.real_weight needs real data: set loop.n_real >= 1")
    if looping.real == "none" and loop.n_real != 0:
        raise ConfigError(
            f"loop.n_real={loop.n_real} must be 0 for loop={loop.name}: its only real data is the "
            "initial sample of loop.n_init points"
        )
    sizes = looping.fit_sizes(loop)
    if loop.n_fit is not None and "loop.n_fit" not in sizes:
        users = " or ".join(f"loop={name}" for name, spec in LOOPS.items() if "loop.n_fit" in spec.fit_sizes(loop))
        raise ConfigError(f"loop.n_fit is only used by {users} (got loop={loop.name}); leave it null")
    from mad.loops import schedule

    schedule.check_keys(config)
    looping.validate(config)
    family.validate(config)
    need, why = family.min_fit(config)
    for key, size in sizes.items():
        if size < need:
            raise ConfigError(f"{key}={size} is too small: {why}")
    schedule.validate(config, need, why)
    from mad.loops import correction, curation, verification

    curation.validate(config)
    correction.validate(config)
    verification.validate(config)
    return config


def positive(key: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
        raise ConfigError(f"{key}={value!r} must be a finite number > 0")


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


def flatten_grid(node: Any, prefix: str = "") -> dict[str, Any]:
    """Nested grid config -> {dotted key: values}; a list at a group name chooses group options,
    a mapping with `values` is a linked axis (kept whole)."""
    if isinstance(node, (list, tuple, ListConfig)):
        return {prefix: list(node)}
    if isinstance(node, dict) and "values" in node:
        return {prefix: node}
    if not isinstance(node, (dict, DictConfig)):
        raise ConfigError(f"grid.{prefix}={node!r}: a grid axis must be a list of values")
    out: dict[str, list] = {}
    for key, value in node.items():
        out.update(flatten_grid(value, f"{prefix}.{key}" if prefix else str(key)))
    return out


def _unknown_keys(node: DictConfig, schema: type, prefix: str) -> None:
    """Keys added with `+key=value` that the typed config does not have: a ConfigError naming the
    key, the closest known key and the allowed ones (not a traceback from a frozen dataclass)."""
    import difflib

    known = {f.name: f for f in dataclasses.fields(schema)}
    for key in node.keys():
        if key not in known:
            close = difflib.get_close_matches(str(key), list(known), n=1)
            hint = f" (did you mean {prefix}{close[0]}?)" if close else ""
            allowed = ", ".join(prefix + k for k in known if k != "grid")
            raise ConfigError(f"{prefix}{key} is not a config key{hint}; the keys here are: {allowed}")
        child = node._get_node(key)
        kind = known[key].default_factory if known[key].default_factory is not dataclasses.MISSING else None
        if isinstance(child, DictConfig) and kind is not None and dataclasses.is_dataclass(kind) and key != "model":
            _unknown_keys(child, kind, f"{prefix}{key}.")


def from_hydra(cfg: DictConfig) -> Config:
    """A composed DictConfig as the typed Config (the model as its family's own config), with the
    grid flattened to dotted keys."""
    _unknown_keys(cfg, Config, "")
    grid = OmegaConf.to_container(cfg.grid, resolve=True)
    config = OmegaConf.to_object(cfg)
    model = {k: v for k, v in OmegaConf.to_container(cfg.model, resolve=True).items() if v is not None}
    fields = {f.name: getattr(config, f.name) for f in dataclasses.fields(Config)}
    return Config(**{**fields, "model": ModelConfig(**model), "grid": flatten_grid(grid) if grid else {}})


def _model_schema():
    """A dataclass with every registered family's model keys (all optional), so that Hydra can
    compose any model option; `from_hydra` then builds the chosen family's own typed config,
    which rejects the keys it does not have."""
    from mad.families import FAMILIES

    keys: dict[str, Any] = {}
    for spec in FAMILIES.values():
        for f in dataclasses.fields(spec.config):
            if f.name != "name":
                keys.setdefault(f.name, None)
    fields = [("name", str, field(default="gaussian"))] + [(k, Optional[Any], field(default=None)) for k in keys]
    return dataclasses.make_dataclass("ModelKeys", fields)


def _schema() -> DictConfig:
    """The typed schema of a composed config: Config, its model node open to every family's keys."""
    schema = _unlock(OmegaConf.structured(Config))
    OmegaConf.set_struct(schema, False)
    schema.model = OmegaConf.structured(_model_schema())
    OmegaConf.set_struct(schema, None)
    return _unlock(schema)


def register_configs() -> None:
    """Register the typed schema that conf/config.yaml extends (its first default)."""
    ConfigStore.instance().store(name=SCHEMA_NAME, node=_schema())


def from_yaml(text: str) -> Config:
    """The typed Config recorded as YAML in a results file (`results.config_yaml`: the run's
    `config` attribute, or a grid point's `point_config`)."""
    return from_hydra(OmegaConf.merge(_schema(), OmegaConf.create(text)))
