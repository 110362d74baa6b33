"""The package as users see it: the public names each chapter promises, and notebooks and modules in one-to-one step."""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The names each module promises to `from kdfidelity.<module> import *`, one line per module: when a name moves to
# another module, move it here too. A module listed here must also be in `kdfidelity._SUBMODULES`.
PUBLIC = {
    "settings": ["Settings", "SettingsError", "load_settings", "resolve_device", "SCALES"],
    "files": ["atomic_write", "atomic_write_bytes", "atomic_write_json", "exclusive_lock", "remove_stale_temporaries"],
    "data": [
        "ImageDataset",
        "TextDataset",
        "load_dataset",
        "DATASETS",
        "DatasetNotFoundError",
        "stratified_subset",
        "random_split",
        "concat",
        "BatchIterator",
        "TRAIN_SIZES",
        "EMNIST_BYCLASS_TRAIN",
        "IMAGE_SHAPES",
    ],
    "augment": ["build_policy", "POLICIES", "normalize", "to_unit_float"],
    "models": ["build_model", "MODELS", "Ensemble", "ensemble_logits", "LeNet5", "PreResNet", "VGG", "LSTMClassifier"],
    "losses": ["ensemble_logits", "kd_loss", "distillation_loss", "nll_loss"],
    "metrics": [
        "accuracy",
        "nll",
        "ece",
        "agreement",
        "predictive_kl",
        "linear_cka",
        "rbf_cka",
        "stage_cka",
        "evaluate",
    ],
    "train": [
        "TrainConfig",
        "fit",
        "load_checkpoint",
        "seeded_init",
        "interpolate_state",
        "SpeedOptions",
        "with_normalization",
        "NORMALIZATIONS",
        "TeacherLogitCache",
        "CompileError",
        "train_agreement",
    ],
    "resume": [
        "Checkpoint",
        "CheckpointError",
        "save_checkpoint",
        "differences",
        "STREAMS",
        "stream_seed",
        "seeded_global_rng",
        "rng_state",
        "set_rng_state",
        "progress_enabled",
        "progress_bar",
    ],
    "store": ["ResultsStore", "RunClaimed", "RunFinished"],
    "workspace": ["Workspace", "speed_from_settings"],
    "specs": [
        "SpecError",
        "Spec",
        "SPEC_KINDS",
        "spec_from_dict",
        "canonical",
        "canonical_fields",
        "DataSpec",
        "SOURCE_KINDS",
        "source_from_dict",
        "run_spec",
        "with_dependencies",
        "missing_data",
    ],
    "gan_runs": ["GanSpec", "SampleSpec"],
    "runs": [
        "RunSpec",
        "build_train_data",
        "fresh_model",
        "initial_student",
        "teacher_table_path",
        "stored_teacher_logits",
        "load_model",
        "load_teacher",
        "CKA_EXAMPLES",
        "forward_flops",
        "as_many_examples_as",
    ],
    "plane_runs": ["PlaneSpec", "PLANE_POINTS"],
    "experiments": [
        "GridPoint",
        "Experiment",
        "EXPERIMENTS",
        "experiment",
        "composite_experiment",
        "registered",
        "get_experiment",
        "by_scale",
        "digits_demo",
        "runs_in_order",
        "grid_cost",
    ],
    "runner": [
        "run_experiment",
        "ExperimentReport",
        "parse_shard",
        "shard_points",
        "score_independent",
        "independent_score_path",
    ],
    "results": ["load_results", "load_histories", "experiment_status", "summary_table", "METRIC_COLUMNS"],
    "gan": [
        "Generator",
        "Discriminator",
        "GanConfig",
        "GanConfigError",
        "build_gan",
        "train_gan",
        "GanResult",
        "discriminator_hinge_loss",
        "generator_hinge_loss",
        "sample_images",
        "sample_dataset",
        "image_sampler",
        "frechet_distance",
        "penultimate_features",
        "classifier_frechet_distance",
        "standard_scores",
    ],
    "landscape": ["Plane", "plane_through", "plane_grid", "distillation_sample", "evaluate_points", "evaluate_plane"],
    "plots": [
        "plot_metric_curves",
        "plot_metric_bars",
        "plot_surface",
        "plot_history",
        "save_figure",
        "panel_grid",
        "note_panel",
        "finish_figure",
        "plot_image_grid",
    ],
    "cli": ["main", "default_workers"],
    "report": ["fidelity_report", "fidelity_from_logits", "FidelityReport", "ReportError", "load_network"],
    "paper.sec4_1": [
        "fig2_presets",
        "fig2_grid",
        "fig2_figure",
        "FIG2_TEACHER",
        "FIG2_STUDENT",
        "fig2_optimizer_grid",
        "fig2_student_variants",
    ],
    "paper.precision": ["precision_grid", "precision_figure"],
    "paper.sec4_2": [
        "sec4_2_presets",
        "sngan_spec",
        "synthetic_sizes",
        "sec4_2_student",
        "sec4_2_points",
        "fig1_grid",
        "fig1_figure",
        "fig5_gan_figure",
    ],
    "paper.sec5_1": [
        "sec5_1_presets",
        "SEC5_1_POLICIES",
        "FIG5_POLICIES",
        "ood_pool",
        "sec5_1_members",
        "sec5_1_student",
        "sec5_1_points",
        "fig3_grid",
        "fig11_grid",
        "fig5_augmentation_grid",
        "fig3_figure",
        "fig11_figure",
        "fig5_augmentation_figure",
        "independent_role",
    ],
    "paper.sec5_2": [
        "sec5_2_presets",
        "SPLITS",
        "FIG4_TAU",
        "CONTROL",
        "half",
        "sec5_2_members",
        "sec5_2_student",
        "recycling_control",
        "sec5_2_points",
        "fig4_grid",
        "fig4_figure",
        "fig5_recycling_figure",
    ],
    "paper.sec6_1": ["FIG5_PANELS", "FIG5", "fig5_figure"],
    "paper.sec6_2": [
        "sec6_2_presets",
        "LAMBDAS",
        "PLANE_LAMBDAS",
        "FIG6A_OPTIMIZERS",
        "INITS",
        "sec6_2_teacher",
        "sec6_2_student",
        "sec6_2_plane",
        "fig6a_points",
        "fig6b_points",
        "fig6c_points",
        "table1_points",
        "fig6a_figure",
        "fig6b_figure",
        "fig6c_figure",
        "table1_table",
        "table1_figure",
        "TABLE1_COLUMNS",
        "fig6a_grid",
        "fig6b_grid",
        "fig6c_grid",
        "table1_grid",
    ],
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_names(module):
    "A star import gives every documented name: nbdev writes `__all__`, and a name it leaves out would be lost here."
    namespace = {}
    exec(f"from kdfidelity.{module} import *", namespace)
    missing = [name for name in PUBLIC[module] if name not in namespace]
    assert not missing, f"`from kdfidelity.{module} import *` lacks {missing}; is it in the generated __all__?"


def test_submodules_reachable_from_package():
    import kdfidelity

    for module in PUBLIC:
        top, _, rest = module.partition(".")
        assert getattr(kdfidelity, top).__name__ == f"kdfidelity.{top}"
        if rest:
            assert getattr(getattr(kdfidelity, top), rest).__name__ == f"kdfidelity.{module}"
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
    package = ROOT / "kdfidelity"
    on_disk = {
        ".".join(p.relative_to(package).with_suffix("").parts)
        for p in package.rglob("*.py")
        if not p.stem.startswith("_")
    }
    assert on_disk == exported, (
        f"modules without a notebook: {on_disk - exported}; notebooks without a module: {exported - on_disk}"
    )


def test_notebooks_start_as_chapters():
    for nb in sorted((ROOT / "nbs").rglob("*.ipynb")):
        first = json.loads(nb.read_text())["cells"][0]
        is_title = first["cell_type"] == "markdown" and "".join(first["source"]).startswith("# ")
        assert is_title, f"{nb.name} has no title cell"


def test_ci_runs_the_readme_test_command():
    readme, ci = (ROOT / "README.md").read_text(), (ROOT / ".ci" / "run").read_text()
    command = 'python -m pip install -e ".[dev]" && bash tools/test.sh'
    assert command in readme
    assert command in ci


ENGINE = ("store", "workspace", "specs", "gan_runs", "runs", "plane_runs", "experiments", "runner", "results")


def test_no_experiment_is_named_in_the_engine_or_the_plots():
    "Experiments live with their paper sections (kdfidelity.paper); the engine and the figure styles know none by name."
    from kdfidelity.experiments import registered

    names = set(registered())
    assert {"fig2", "precision", "fig2_optimizer"} <= names
    for module in ENGINE + ("plots",):
        text = (ROOT / "kdfidelity" / f"{module}.py").read_text()
        named = sorted(name for name in names if f'"{name}"' in text or f"'{name}'" in text or f"{name}_grid" in text)
        assert not named, f"kdfidelity/{module}.py names experiment(s) {named}; they belong in kdfidelity/paper/"


def test_run_kinds_are_told_apart_by_their_interface_alone():
    "The runner, the store, the readers and grid_cost call the `Spec` interface; no module asks which kind it holds."
    import re

    kinds = r"\b(Spec|RunSpec|GanSpec|PlaneSpec|SampleSpec)\b"
    for path in sorted((ROOT / "kdfidelity").rglob("*.py")):
        asked = re.findall(r"isinstance\([^)]*" + kinds, path.read_text())
        assert not asked, (
            f"{path.relative_to(ROOT)} tells run kinds apart with isinstance ({asked}); use the Spec interface"
        )
