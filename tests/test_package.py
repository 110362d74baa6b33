"""The package as users see it: the public names each chapter promises, and notebooks and modules in one-to-one step."""
import importlib
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PUBLIC = {
    "settings": ["Settings", "SettingsError", "load_settings", "resolve_device", "SCALES"],
    "data": ["ImageDataset", "TextDataset", "load_dataset", "DATASETS", "DatasetNotFoundError", "stratified_subset",
             "random_split", "concat", "BatchIterator"],
    "augment": ["build_policy", "POLICIES", "normalize", "to_unit_float"],
    "models": ["build_model", "MODELS", "Ensemble", "ensemble_logits", "LeNet5", "PreResNet", "VGG", "LSTMClassifier"],
    "losses": ["ensemble_logits", "kd_loss", "distillation_loss", "nll_loss"],
    "metrics": ["accuracy", "nll", "ece", "agreement", "predictive_kl", "linear_cka", "rbf_cka", "evaluate"],
    "train": ["TrainConfig", "fit", "CheckpointError", "seeded_init", "interpolate_state"],
    "experiments": ["DataSpec", "RunSpec", "GridPoint", "ResultsStore", "run_experiment", "load_results",
                    "experiment_status", "summary_table", "EXPERIMENTS", "parse_shard", "shard_points"],
    "plots": ["plot_metric_curves", "plot_metric_bars", "plot_surface", "plot_history", "plot_experiment", "save_figure"],
    "cli": ["main"],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names(module):
    mod = importlib.import_module(f"kdfidelity.{module}")
    missing = [name for name in PUBLIC[module] if not hasattr(mod, name)]
    assert not missing, f"kdfidelity.{module} lacks {missing}"


def test_submodules_reachable_from_package():
    import kdfidelity
    for module in PUBLIC:
        assert getattr(kdfidelity, module).__name__ == f"kdfidelity.{module}"
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        kdfidelity.nonexistent


def _default_exports():
    for nb in sorted((ROOT / "nbs").rglob("*.ipynb")):
        for cell in json.loads(nb.read_text())["cells"]:
            src = "".join(cell["source"])
            if cell["cell_type"] == "code" and src.startswith("#| default_exp"):
                yield nb, src.split()[2]


def test_every_module_comes_from_a_notebook():
    exported = {module for _, module in _default_exports()}
    on_disk = {p.stem for p in (ROOT / "kdfidelity").glob("*.py") if not p.stem.startswith("_")}
    assert on_disk == exported, f"modules without a notebook: {on_disk - exported}; notebooks without a module: {exported - on_disk}"


def test_notebooks_start_as_chapters():
    for nb in sorted((ROOT / "nbs").rglob("*.ipynb")):
        first = json.loads(nb.read_text())["cells"][0]
        assert first["cell_type"] == "markdown" and "".join(first["source"]).startswith("# "), f"{nb.name} has no title cell"


def test_ci_runs_the_readme_test_command():
    readme, ci = (ROOT / "README.md").read_text(), (ROOT / ".ci" / "run").read_text()
    command = 'python -m pip install -e ".[dev]" && bash tools/test.sh'
    assert command in readme
    assert command in ci
