"""The search spaces: built-in ones by name, and any a user defines in a Python file.

``get("nb201")`` gives a built-in space; ``get("path/to/file.py:ClassName")`` loads a user's
``SearchSpace`` subclass from a file. Loading a file runs it, like any Python import: the CLI
does it when a command names the file, the dashboard only after the user confirms they trust it.
Keep ``import torch`` inside ``build`` so the dashboard, which reads the space's decisions, stays
light. A file space's cached scores are keyed by its source's hash, so editing it never reuses
a score of the old code. Torch-free.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import threading
import traceback
from pathlib import Path

from knas.errors import KnasError
from knas.spaces.base import ArchError, SearchSpace

DEFAULT = "nb201"
BUILTIN = {"nb201": ("knas.spaces.nb201", "NB201Space"),  # name -> (module, class)
           "text": ("knas.spaces.text", "TextSpace"),
           "text-scratch": ("knas.spaces.text", "ScratchTextSpace")}

__all__ = ["ArchError", "DEFAULT", "BUILTIN", "SearchSpace", "SpaceError", "get", "is_file_spec",
           "absolute"]


class SpaceError(KnasError, ValueError):
    """A space that cannot be used: an unknown name, a file that does not load, a class that is
    not a search space."""


_LOADED: dict = {}
_LOCK = threading.Lock()


def is_file_spec(spec: str) -> bool:
    """``path/to/file.py:ClassName`` (a space defined in a file) rather than a built-in name."""
    path, sep, name = str(spec).rpartition(":")
    return bool(sep) and path.endswith(".py") and name.isidentifier()


def absolute(spec: str) -> str:
    """A file spec with an absolute path (workers run elsewhere); a name unchanged."""
    if not is_file_spec(spec):
        return str(spec).strip()
    path, _, name = str(spec).rpartition(":")
    return f"{Path(path).expanduser().resolve()}:{name}"


def get(spec: str = DEFAULT) -> SearchSpace:
    """The space a config names (see the module doc)."""
    spec = str(spec).strip()
    if not is_file_spec(spec):
        if spec not in BUILTIN:
            hint = " (a space in a file is named path/to/file.py:ClassName)" if spec else ""
            raise SpaceError(f"unknown search space {spec!r}; built in: {', '.join(BUILTIN)}{hint}")
        key = spec
    else:
        path = Path(spec.rpartition(":")[0]).expanduser()
        try:
            stat = path.stat()
        except OSError:
            raise SpaceError(f"{path}: no such file (the search space {spec!r})") from None
        key = (absolute(spec), stat.st_mtime_ns, stat.st_size)
    with _LOCK:
        if key not in _LOADED:
            _LOADED[key] = _builtin(spec) if key == spec else _from_file(spec)
        return _LOADED[key]


def _builtin(name: str) -> SearchSpace:
    module, cls = BUILTIN[name]
    space = getattr(importlib.import_module(module), cls)()
    space.spec = name
    return space


def _from_file(spec: str) -> SearchSpace:
    spec = absolute(spec)
    text_path, _, class_name = spec.rpartition(":")
    path = Path(text_path)
    if not path.is_file():
        raise SpaceError(f"{path}: not a file (the search space {spec!r})")
    source = path.read_bytes()
    digest = hashlib.sha256(source).hexdigest()[:12]
    module_name = f"knas_user_space_{digest}"
    module = sys.modules.get(module_name)
    if module is None:
        loader_spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(loader_spec)
        try:
            loader_spec.loader.exec_module(module)
        except SyntaxError as err:
            raise SpaceError(f"{path}, line {err.lineno}: syntax error ({err.msg})") from None
        except Exception as err:  # the user's code: any failure means the file does not load
            where = _user_line(err, path)
            raise SpaceError(f"{path}{where}: loading it failed ({type(err).__name__}: {err})") \
                from None
        sys.modules[module_name] = module
    cls = getattr(module, class_name, None)
    if cls is None:
        found = [n for n, v in vars(module).items()
                 if isinstance(v, type) and issubclass(v, SearchSpace) and v is not SearchSpace]
        raise SpaceError(f"{path} defines no {class_name!r}"
                         + (f"; its search spaces: {', '.join(found)}" if found else
                            "; define a subclass of knas.spaces.SearchSpace there"))
    if not (isinstance(cls, type) and issubclass(cls, SearchSpace)):
        raise SpaceError(f"{path}: {class_name} is not a subclass of knas.spaces.SearchSpace")
    try:
        space = cls()
        space.size  # decisions are checked here
    except KnasError as err:
        raise SpaceError(f"{path}: {class_name}: {err}") from None
    except Exception as err:
        where = _user_line(err, path)
        raise SpaceError(f"{path}{where}: {class_name} cannot be used "
                         f"({type(err).__name__}: {err})") from None
    if not space.name or not str(space.name).replace("_", "").replace("-", "").isalnum():
        raise SpaceError(f"{path}: {class_name}.name must be a short name of letters, digits, "
                         f"- and _ (it keys cached scores), got {space.name!r}")
    space.spec, space.source_digest = spec, digest
    return space


def _user_line(err: Exception, path: Path) -> str:
    """``, line N`` of the deepest frame of the user's file in a traceback ("" if none)."""
    lines = [frame.lineno for frame in traceback.extract_tb(err.__traceback__)
             if Path(frame.filename) == path]
    return f", line {lines[-1]}" if lines else ""
