"""One module per experiment of the paper, each defining EXPERIMENT (mad.paper.base.Experiment)
beside its Hydra option conf/experiment/<name>.yaml of the same name; mad.paper collects them."""
