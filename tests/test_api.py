import importlib

import lcurve


def test_every_public_name_imports():
    for name in lcurve.__all__:
        assert getattr(lcurve, name) is not None, name


def test_subpackages_declare_all():
    for module in ("lcurve.datasets", "lcurve.design", "lcurve.train", "lcurve.sweep",
                   "lcurve.config", "lcurve.data", "lcurve.affinity", "lcurve.latent",
                   "lcurve.influence", "lcurve.curves", "lcurve.transfer",
                   "lcurve.plot", "lcurve.report"):
        mod = importlib.import_module(module)
        for name in mod.__all__:
            assert hasattr(mod, name), f"{module}.{name}"


def test_import_does_not_initialise_jax_devices(tmp_path):
    import subprocess
    import sys

    code = ("import lcurve, jax._src.xla_bridge as xb; "
            "print(len(getattr(xb, '_backends', {})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"


def test_import_hides_arviz_refactor_notice(tmp_path):
    # ArviZ prints its refactor notice once a day per user cache: a fresh cache (as on a new
    # machine, where the demo is a newcomer's first command) must not show it through lcurve.
    import os
    import subprocess
    import sys

    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", "import lcurve"], capture_output=True,
                         text=True, check=True, env=env)
    assert (tmp_path / "arviz" / "daily_warning").exists()  # the notice was due, and hidden
    assert "ArviZ is undergoing" not in out.stderr
