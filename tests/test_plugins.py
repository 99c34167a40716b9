"""Plugins by entry points: built-ins and installed packages alike, broken and clashing ones named."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harmone.errors import ModelError
from harmone.models import _KINDS, kinds
from harmone.models.base import Model
from harmone.registry import Registry


def fake_dist(root: Path, name: str, entry_points: dict[str, dict[str, str]], modules: dict[str, str]) -> Path:
    """An installed distribution as a directory on sys.path: a dist-info with entry points, and modules."""
    info = root / f"{name.replace('-', '_')}-1.2.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.2\n", encoding="utf-8")
    lines = []
    for group, points in entry_points.items():
        lines.append(f"[{group}]")
        lines.extend(f"{key} = {value}" for key, value in points.items())
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for module, text in modules.items():
        (root / f"{module}.py").write_text(text, encoding="utf-8")
    return root


KIND_MODULE = '''
from harmone.models.linear import LinearModel

class TwinModel(LinearModel):
    kind = "twin"
'''


def models_registry() -> Registry:
    """A fresh registry of the models group (the package's own one caches what it read)."""
    import harmone.models as package

    return Registry("harmone.models", package.__name__, package.__path__, what="model kind",
                    key=lambda cls: cls.kind, error=ModelError)


def test_builtins_register_through_the_entry_point_groups() -> None:
    plugins = {p.name: p for p in _KINDS.plugins()}
    assert {"linear", "svm", "lstm", "persistence", "logistic", "cnn-small"} <= set(plugins)
    assert plugins["linear"].package == "harmone" and plugins["linear"].value == "harmone.models.linear:LinearModel"


def test_a_plugin_kind_is_found_by_name_and_loaded_only_on_lookup(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(fake_dist(tmp_path, "harmone-twin", {"harmone.models": {"twin": "twin_kind:TwinModel"}},
                                              {"twin_kind": KIND_MODULE})))
    registry = models_registry()
    assert "twin" in registry.names() and "linear" in registry.names()
    assert "twin_kind" not in sys.modules  # names come from the metadata
    cls = registry.get("twin")
    assert issubclass(cls, Model) and cls.kind == "twin"
    assert [p.package for p in registry.plugins() if p.name == "twin"] == ["harmone-twin"]
    monkeypatch.delitem(sys.modules, "twin_kind")


def test_a_plugin_that_fails_to_import_is_one_warning_naming_its_package(tmp_path: Path, monkeypatch, caplog) -> None:
    monkeypatch.syspath_prepend(str(fake_dist(tmp_path, "harmone-broken", {"harmone.models": {"broken": "broken_kind:Nope"}},
                                              {"broken_kind": "raise ImportError('needs tensorflow')\n"})))
    registry = models_registry()
    with caplog.at_level(logging.WARNING, logger="harmone.plugins"):
        loaded = registry.classes()
    assert "broken" not in loaded and "linear" in loaded and "broken" not in registry.names()
    [record] = [r for r in caplog.records if r.name == "harmone.plugins"]
    message = record.getMessage()
    assert "'harmone-broken'" in message and "needs tensorflow" in message and "\n" not in message
    with pytest.raises(ModelError, match="unknown model kind 'broken'"):
        registry.get("broken")


def test_two_packages_claiming_one_name_is_an_error_naming_both(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(fake_dist(tmp_path, "harmone-rival", {"harmone.models": {"linear": "rival:Linear"}}, {})))
    with pytest.raises(ModelError, match="'linear' is claimed by two packages: 'harmone' .* and 'harmone-rival'|"
                                         "'linear' is claimed by two packages: 'harmone-rival' .* and 'harmone'"):
        models_registry().names()


def test_the_packages_registries_read_the_metadata_without_importing_torch() -> None:
    code = ("import sys; from harmone.models import kinds, model_class; kinds(); model_class('linear'); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    assert "linear" in kinds()


def test_plugins_cli_lists_name_group_package_and_version(tmp_path: Path) -> None:
    fake_dist(tmp_path, "harmone-twin", {"harmone.models": {"twin": "twin_kind:TwinModel"}}, {"twin_kind": KIND_MODULE})
    fake_dist(tmp_path / "b", "harmone-broken", {"harmone.detectors": {"broken": "broken_det:Nope"}},
              {"broken_det": "import no_such_module_here\n"})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(tmp_path / "b")])}
    run = subprocess.run([sys.executable, "-m", "harmone", "plugins", "--json"], capture_output=True, text=True,
                         env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    listed = {(p["group"], p["name"]): p for p in json.loads(run.stdout)}
    assert listed[("harmone.models", "twin")]["package"] == "harmone-twin"
    assert listed[("harmone.models", "twin")]["version"] == "1.2"
    assert listed[("harmone.models", "linear")]["package"] == "harmone"
    assert listed[("harmone.policies", "bandit")]["package"] == "harmone"
    assert ("harmone.detectors", "broken") not in listed and ("harmone.detectors", "adwin") in listed
    warnings = [line for line in run.stderr.splitlines() if "harmone-broken" in line]
    assert len(warnings) == 1 and "no_such_module_here" in warnings[0]


def test_the_dashboard_shows_plugins_and_cannot_add_one(tmp_path: Path) -> None:
    from conftest import make_workspace
    from dashboard_helpers import client
    from harmone.dashboard import Dashboard

    dashboard = Dashboard(make_workspace(tmp_path / "ws"))
    try:
        browser = client(dashboard)
        listed = {(p["group"], p["name"]): p for p in browser.get("/api/plugins").json()["plugins"]}
        assert listed[("harmone.models", "linear")]["package"] == "harmone"
        assert ("harmone.detectors", "window-kl") in listed
        assert browser.post("/api/plugins", json={"name": "x"}).status_code in (403, 405)
    finally:
        dashboard.close()


METER_MODULE = '''
from harmone.energy.fake import FakeMeter


class CountedSource:
    """A meter of a plugin package: a counter that never moves, under its own name."""

    name = "counted"

    @classmethod
    def create(cls, config, *, scope, sysfs_root):
        return FakeMeter(source="plugin:counted")
'''


def test_a_plugin_meter_is_named_in_the_config_and_built_by_detect(tmp_path: Path, monkeypatch) -> None:
    import harmone.energy.meters as package
    from harmone import config as config_mod
    from harmone.energy.detect import detect
    from harmone.errors import ConfigError, EnergyError

    monkeypatch.syspath_prepend(str(fake_dist(tmp_path, "harmone-counted",
                                              {"harmone.meters": {"counted": "counted_meter:CountedSource"}},
                                              {"counted_meter": METER_MODULE})))
    fresh = Registry("harmone.meters", package.__name__, package.__path__, what="energy meter",
                     key=lambda cls: cls.name, error=EnergyError)
    monkeypatch.setattr(package, "_METERS", fresh)
    monkeypatch.setattr(package, "names", fresh.names)
    monkeypatch.setattr(package, "meter_source", fresh.get)
    assert {"counted", "rapl", "estimator", "fake"} <= set(fresh.names())
    config = config_mod.from_mapping({"energy": {"meter": "counted"}})
    meter = detect(config.energy, gpu=False)
    assert meter.source == "plugin:counted"
    with pytest.raises(ConfigError, match="meter = 'nothing' is not one of auto, .*counted"):
        config_mod.from_mapping({"energy": {"meter": "nothing"}})
    monkeypatch.delitem(sys.modules, "counted_meter")
