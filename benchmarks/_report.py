"""The frame every benchmark report in docs/ shares: title, what was measured, the exact command
that produced it, and the machine it ran on."""
import os
import platform
import sys
from pathlib import Path


def machine() -> str:
    """This machine in one line: architecture, processor, cores, and the torch device if known."""
    cpu = platform.processor() or platform.machine()
    return f"{platform.machine()} ({cpu}), {os.cpu_count()} cores, Python {platform.python_version()}"


def header(title: str, intro: str, module: str, note: str = "") -> list[str]:
    """The opening lines of a markdown report: ``module`` is the benchmark's ``python -m`` name,
    the command is this process's own arguments, so the report says exactly how to rerun it."""
    command = f"python -m {module} " + " ".join(sys.argv[1:])
    return [f"# {title}", "", intro, "", "Command:", "", "```", command.strip(), "```", "",
            f"Machine: {machine()}" + (f"; {note}" if note else "") + ".", ""]


def publish(path, lines: list[str]) -> None:
    """Write a report (its folder made if needed) and print it."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines))
    print("\n".join(lines))
