"""Hydra configuration tree for mad (shipped as the package mad.conf)."""
