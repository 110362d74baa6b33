"""The paper's experiments, one module per section, each exported from its notebook in `nbs/paper/`.

Importing this package imports every section, and each registers its experiments with `kdfidelity.experiments`,
so `kdfidelity list`, `run`, `status` and `plot` see them all. A new section notebook needs no line here."""

import importlib as _importlib
import pkgutil as _pkgutil

SECTIONS = tuple(sorted(m.name for m in _pkgutil.iter_modules(__path__) if not m.name.startswith("_")))

for _section in SECTIONS: _importlib.import_module(f"{__name__}.{_section}")
