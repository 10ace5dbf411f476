"""Model families: parameter pytrees with pure fit / sample / log_prob functions.

A family is one module here that provides the `Family` interface (mad.families.base) and
declares a `SPEC` (a `FamilySpec`: its config keys, data, capabilities, metrics, theory and
memory); it is registered by listing its module in `FAMILIES` below, and nothing else in mad
needs to know its name.
"""

from __future__ import annotations

from mad.families import categorical, classifier, diffusion, flow, gaussian, gmm, kde, linreg, ngram, poisson, transformer, vae
from mad.families.base import Family, FamilySpec

FAMILIES: dict[str, FamilySpec] = {
    module.SPEC.name: module.SPEC for module in (gaussian, gmm, kde, flow, vae, diffusion, categorical, ngram, transformer, poisson, linreg, classifier)
}


def family_spec(name: str) -> FamilySpec:
    """The registered family called `name` (ConfigError naming the choices otherwise)."""
    from mad.config import ConfigError

    if name not in FAMILIES:
        raise ConfigError(f"model.name={name!r} is not allowed; choose one of {', '.join(FAMILIES)}")
    return FAMILIES[name]


def make_family(config, data=None) -> Family:
    """Build the family a config asks for (static settings closed over); `data` is the real
    distribution (mad.data.RealData), needed by families that fit samples of it."""
    if data is None:
        from mad.data import make_data

        data = make_data(config)
    return family_spec(config.model.name).build(config, data)


__all__ = ["FAMILIES", "Family", "FamilySpec", "categorical", "classifier", "diffusion", "family_spec", "flow", "gaussian", "gmm", "kde", "linreg", "make_family", "ngram", "poisson", "transformer", "vae"]
