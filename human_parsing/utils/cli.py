"""One error policy for every command-line tool in ``tools/``.

Expected errors — the user's input is wrong — print ONE line on stderr and exit with status 2
(argparse's status for a bad command line)::

    <tool>: error: <file or key>: <problem>

The traceback is printed only with ``--debug`` (accepted anywhere on the command line, also
after ``--opts``) or for unexpected exceptions (bugs), which keep Python's default: traceback
and status 1. Expected are:

* :class:`ConfigError` (bad config file, yaml, key or value; see :func:`merge_config`),
  the project's data errors (``DataFormatError`` and its subclasses), missing/existing files
  (``FileNotFoundError``, ``FileExistsError``, ``IsADirectoryError``, ``NotADirectoryError``,
  ``PermissionError``) and yaml syntax errors;
* ``ValueError`` and ``KeyError`` raised *deliberately* for bad input: by a ``raise`` statement
  of this project's code or of Detectron2/fvcore/yacs (registry misses, unregistered datasets).
  The same types coming out of numpy, torch, ... are bugs; so is a ``KeyError`` holding a bare
  key (not a sentence), a lookup gone wrong.
  Errors re-raised from a DataLoader worker or a ``launch``-ed process are judged by the original.

Usage in a tool (``main(argv)`` parses ``argv``, raises on errors, may return an exit status)::

    if __name__ == "__main__":
        sys.exit(run_tool(main, "evaluate_parsing"))
"""
import linecache
import os
import re
import sys
import traceback
from typing import Callable, List, Optional, Sequence

import yaml

from human_parsing.data.io import temporary_file_tag

__all__ = ["EXIT_USER_ERROR", "ConfigError", "merge_config", "is_user_error", "format_user_error",
           "add_debug_argument", "run_tool"]

EXIT_USER_ERROR = 2
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# third-party code whose ValueError/KeyError are deliberate messages about the user's config
_TRUSTED_LIBS = ("detectron2", "fvcore", "yacs", "iopath")
_ALWAYS_USER = (FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError,
                PermissionError, yaml.YAMLError)
# names of the always-expected classes, to judge errors known only from a traceback's text
_USER_NAMES = {"ConfigError", "DataFormatError", "VideoDecodeError", "WeightsMismatchError",
               "FileNotFoundError", "FileExistsError", "IsADirectoryError", "NotADirectoryError",
               "PermissionError"}


class ConfigError(ValueError):
    """A config file, yaml, key or value is wrong. The message starts with the file or key."""


def _key_of(msg: str) -> Optional[str]:
    m = re.search(r"(?:config key|key):\s*(\S+)", msg)
    return m.group(1) if m else None


def _problem(msg: str, unknown: str) -> str:
    """yacs' message without the key it ends with (the key goes in front)."""
    if "Non-existent" in msg:
        return unknown
    return re.sub(r"\s*for config key:\s*\S+\s*$", "", msg)


def merge_config(cfg, config_file: str, opts: Sequence[str] = ()):
    """``cfg.merge_from_file(config_file)`` then ``cfg.merge_from_list(opts)``, with every
    failure (missing file, bad yaml, empty file, unknown key, wrong type, odd override list)
    raised as a :class:`ConfigError` naming the file or key. Returns ``cfg``."""
    if config_file:
        if not os.path.isfile(config_file):
            raise ConfigError(f"{config_file}: config file not found")
        with open(config_file) as f:
            try:
                doc = yaml.safe_load(f)
            except yaml.constructor.ConstructorError:
                doc = {}  # python tags (Detectron2 allows unsafe yaml): let merge_from_file judge
            except yaml.YAMLError as e:
                raise ConfigError(f"{config_file}: invalid yaml: {_yaml_problem(e)}") from e
        if not isinstance(doc, dict):
            raise ConfigError(f"{config_file}: not a mapping of config keys (empty file?)")
        try:
            cfg.merge_from_file(config_file)
        except yaml.YAMLError as e:  # in a _BASE_ file
            raise ConfigError(f"{_yaml_file(e, config_file)}: invalid yaml: {_yaml_problem(e)}") from e
        except (FileNotFoundError, AssertionError) as e:  # a missing _BASE_ file
            raise ConfigError(f"{config_file}: {_one_line(e)}") from e
        except (KeyError, ValueError, TypeError) as e:
            msg = _message(e)
            key = _key_of(msg)
            problem = _problem(msg, "unknown config key")
            raise ConfigError(f"{config_file}: {key + ': ' if key else ''}{problem}") from e
    opts = list(opts)
    if len(opts) % 2:
        raise ConfigError(f"config overrides: need KEY VALUE pairs, got {len(opts)} items {opts}")
    try:
        cfg.merge_from_list(opts)
    except (KeyError, ValueError, AssertionError, TypeError) as e:
        msg = _message(e)
        key = _key_of(msg) or "config overrides"
        problem = _problem(msg, "unknown config key (command-line override)")
        raise ConfigError(f"{key}: {problem}") from e
    return cfg


def _yaml_file(e: yaml.YAMLError, default: str) -> str:
    mark = getattr(e, "problem_mark", None)
    return getattr(mark, "name", None) or default


def _yaml_problem(e: yaml.YAMLError) -> str:
    mark = getattr(e, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return where + (getattr(e, "problem", None) or _one_line(e))


def _message(e: BaseException) -> str:
    if isinstance(e, KeyError) and len(e.args) == 1 and isinstance(e.args[0], str):
        return e.args[0]  # str(KeyError) adds quotes
    return str(e)


def _one_line(e) -> str:
    text = e if isinstance(e, str) else _message(e)
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


_REMOTE_LAST = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception)): (.*)$", re.M)
_REMOTE_FRAME = re.compile(r'File "([^"]+)", line \d+[^\n]*\n\s*([^\n]*)')


def _remote(e: BaseException):
    """(class name, message, innermost file, its source line) of an error re-raised from another
    process (its message carries the original traceback), else None."""
    text = str(e)
    if "Traceback (most recent call last)" not in text:
        return None
    lines = _REMOTE_LAST.findall(text)
    frames = _REMOTE_FRAME.findall(text)
    if not lines:
        return None
    name, msg = lines[-1]
    origin, source = frames[-1] if frames else ("", "")
    return name.rsplit(".", 1)[-1], msg, origin, source


def _trusted_origin(filename: str) -> bool:
    path = os.path.abspath(filename)
    if path.startswith(_ROOT + os.sep) and os.sep + ".venv" + os.sep not in path[len(_ROOT):]:
        return True
    parts = path.split(os.sep)
    return any(lib in parts for lib in _TRUSTED_LIBS)


def _raised_at(e: BaseException):
    """(file, source line) of the innermost Python frame of ``e``'s traceback."""
    tb = e.__traceback__
    last = None
    while tb is not None:
        last, tb = tb, tb.tb_next
    if last is None:
        return "", ""
    filename = last.tb_frame.f_code.co_filename
    return filename, linecache.getline(filename, last.tb_lineno)


def _deliberate(name_is_key_error: bool, msg: str, origin: str, source: str) -> bool:
    if name_is_key_error and " " not in msg.strip():
        return False  # KeyError('foo'): a dict lookup gone wrong, not a message
    # a raise statement in trusted code; not an error from C code called there (numpy, torch)
    return source.strip().startswith("raise") and _trusted_origin(origin)


def is_user_error(e: BaseException) -> bool:
    """Whether ``e`` is an expected error about the user's input (see the module docstring)."""
    from human_parsing.data.io import DataFormatError

    remote = _remote(e)
    if remote is not None:
        name, msg, origin, source = remote
        if name in _USER_NAMES or name == "YAMLError":
            return True
        return name in ("ValueError", "KeyError") and _deliberate(name == "KeyError", msg, origin, source)
    if isinstance(e, (ConfigError, DataFormatError) + _ALWAYS_USER):
        return True
    if isinstance(e, (ValueError, KeyError)):
        return _deliberate(isinstance(e, KeyError), _message(e), *_raised_at(e))
    return False


def format_user_error(e: BaseException) -> str:
    """The one-line ``<file or key>: <problem>`` text of an expected error."""
    remote = _remote(e)
    if remote is not None:
        return _one_line(remote[1])
    if isinstance(e, OSError) and e.filename is not None and e.strerror:
        return f"{e.filename}: {e.strerror}"
    if isinstance(e, yaml.YAMLError):
        return f"{_yaml_file(e, '<yaml>')}: invalid yaml: {_yaml_problem(e)}"
    return _one_line(e)


def add_debug_argument(parser) -> None:
    """Declare ``--debug`` (for ``--help``; :func:`run_tool` takes it out of ``sys.argv``)."""
    parser.add_argument("--debug", action="store_true",
                        help="print the full traceback of expected errors too")


def run_tool(main: Callable[[List[str]], object], tool: str, argv: Optional[Sequence[str]] = None) -> int:
    """Run a tool's ``main(argv)`` under the error policy; return the exit status (use as
    ``sys.exit(run_tool(main, "tool"))``). ``argv`` defaults to ``sys.argv[1:]``; ``--debug`` is
    taken out of it before ``main`` sees it. Temporary files are tagged with ``tool``. An int
    returned by ``main`` is the status (anything else: 0)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    args = [a for a in args if a != "--debug"]
    try:
        with temporary_file_tag(tool):
            ret = main(args)
    except KeyboardInterrupt:
        print(f"{tool}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - classified below, unexpected ones re-raised
        if not is_user_error(e):
            raise
        if debug:
            traceback.print_exc()
        print(f"{tool}: error: {format_user_error(e)}", file=sys.stderr)
        return EXIT_USER_ERROR
    return ret if isinstance(ret, int) and not isinstance(ret, bool) else 0
