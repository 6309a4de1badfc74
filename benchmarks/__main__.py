"""Run every benchmark; each prints its figure beside an anchor measured in the same run.

Reference implementations that pin old libraries (GrowthBook's gbstats, channelattribution)
get their own virtual environments under ``benchmarks/.venv-*``, never the product's.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
#: Modules here that are not benchmarks (golden-file generators, subprocess runners).
NOT_BENCHMARKS = frozenset({"attribution_golden", "gbstats_golden", "gbstats_sequential_runner"})
REFERENCE_VENVS = {
    "gbstats": ["gbstats==0.8.0"],
    "ca": ["channelattribution==2.2.5", "matplotlib"],
}


def _uv() -> str | None:
    local = ROOT / ".uv" / "bin" / "uv"
    return str(local) if local.exists() else shutil.which("uv")


def reference_python(name: str) -> str | None:
    """Python of the reference venv ``name``, created on first use; None if it cannot be."""
    venv = HERE / f".venv-{name}"
    python = venv / "bin" / "python"
    if python.exists():
        return str(python)
    uv = _uv()
    if uv is None:
        return None
    env_ok = subprocess.run([uv, "venv", str(venv), "--python", sys.executable, "-q"]).returncode == 0
    if env_ok and subprocess.run([uv, "pip", "install", "-q", "--python", str(python),
                                  *REFERENCE_VENVS[name]]).returncode == 0:
        return str(python)
    print(f"[bench] could not build the {name} reference environment; its columns are skipped")
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("only", nargs="*", help="benchmark names (default: all)")
    args = parser.parse_args()
    plan: list[tuple[str, list[str]]] = []
    gb = reference_python("gbstats")
    ca = reference_python("ca")
    extras = {
        "stats_validation": ["--gbstats-python", gb] if gb else [],
        "attribution": ["--ca-python", ca] if ca else [],
        "quality": [],
    }
    for path in sorted(HERE.glob("*.py")):
        name = path.stem
        if name.startswith("_") or name in NOT_BENCHMARKS:
            continue
        if not args.only or name in args.only:
            plan.append((name, extras.get(name, [])))
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    failed = []
    for name, extra in plan:
        print(f"\n=== {name} ===", flush=True)
        t0 = time.monotonic()
        with open(results / f"{name}.txt", "w") as log:
            proc = subprocess.Popen([sys.executable, str(HERE / f"{name}.py"), *extra], cwd=ROOT,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            assert proc.stdout is not None
            for line in proc.stdout:
                sys.stdout.write(line)
                log.write(line)
            proc.wait()
        print(f"=== {name}: exit {proc.returncode} in {time.monotonic() - t0:.0f}s ===", flush=True)
        if proc.returncode:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
