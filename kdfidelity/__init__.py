__version__ = "0.0.1"

import importlib as _importlib

# The chapters of the library, importable as attributes (`kdfidelity.metrics`) without paying for all of them at once.
_SUBMODULES = ("settings", "files", "data", "resume", "augment", "models", "losses", "metrics", "train", "gan", "landscape",
               "store", "workspace", "specs", "gan_runs", "runs", "plane_runs", "experiments", "runner", "results",
               "plots", "cli", "slurm", "report", "paper")

def __getattr__(name):
    if name in _SUBMODULES: return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
