"""`make reliability-report`: the reliability tier at a larger scale, its figures into
docs/reliability.md (between the FIGURES markers), so the page shows what was measured.

    python bench/reliability_report.py [SCALE]

runs `pytest tests/reliability` with TOUCHPOINT_RELIABILITY_SCALE=SCALE (the populations times
SCALE; 1 is what `make test` runs) and rewrites the table from the figures the tests recorded."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "reliability.md"
BEGIN, END = "<!-- figures:begin -->", "<!-- figures:end -->"


def main(scale: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        figures = Path(tmp) / "figures.json"
        env = {
            **os.environ,
            "TOUCHPOINT_RELIABILITY_SCALE": str(scale),
            "TOUCHPOINT_RELIABILITY_FIGURES": str(figures),
        }
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/reliability"],
            cwd=REPO,
            env=env,
            check=False,
        )
        seconds = time.monotonic() - started
        if done.returncode != 0:
            print("the reliability tier failed: the figures are not written", file=sys.stderr)
            return done.returncode
        rows = json.loads(figures.read_text(encoding="utf-8"))
    table = render(rows, scale, seconds)
    text = DOC.read_text(encoding="utf-8")
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    DOC.write_text(f"{head}{BEGIN}\n{table}{END}{tail}", encoding="utf-8")
    print(table)
    print(f"wrote {DOC.relative_to(REPO)}")
    return 0


def render(rows: dict[str, dict[str, object]], scale: int, seconds: float) -> str:
    lines = [
        f"Measured {dt.date.today().isoformat()} with `make reliability-report` (scale {scale}: the "
        f"tier's populations times {scale}; the whole tier took {seconds:.0f} s on {os.cpu_count()} cores). "
        "Each figure is a count that its test asserts.",
        "",
        "| scenario | figures |",
        "|---|---|",
    ]
    for name in sorted(rows):
        values = ", ".join(f"{k.replace('_', ' ')} {_show(v)}" for k, v in rows[name].items())
        lines.append(f"| {name} | {values} |")
    return "\n".join(lines) + "\n"


def _show(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
