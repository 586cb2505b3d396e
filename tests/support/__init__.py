"""Scaffolding the test modules share, written once: a fake clock, running Python programs (snippets) and the
CLI in child processes.

Running a snippet: each "try it yourself" snippet must run on a learner's machine in a fresh interpreter. Starting
one costs seconds (importing torch and transformers), and the suite runs about a hundred snippets, so by default a
snippet runs in a long-lived child interpreter (one per environment and test process) that has paid those imports
once: each snippet gets a fresh namespace (`__name__ == "__main__"`, nothing from the one before), its own captured
stdout and stderr, its own deep copy of a model or tokenizer loaded from a GGUF file (the file read and
de-quantised once per child), torch's default seed as a fresh process has it, and pyplot's figures closed after
it. The child has exactly the environment a fresh process would get (less `_NOT_A_LEARNERS`: what pytest and
transformers set in the test process). `fresh=True` (and TUTOR_TEST_FRESH_SNIPPETS=1 for every run) starts a new
interpreter instead; tests/core/tasks/test_snippets.py runs one snippet of each shape that way, so a snippet that
only works after another's imports would still be caught.
"""
from __future__ import annotations

import atexit
import json
import os
import queue
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEST_CACHE = Path(os.environ.get("TUTOR_TEST_CACHE", ROOT / ".tutor-cache" / "tests"))
"""The tests' tutor cache: where the tiny pack is built (once, under core/cachelock.py's lock)."""


class Clock:
    """A clock the test moves by hand: `clock()` reads it, `clock.advance(s)` moves it on."""

    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def listening(host: str, port: int) -> bool:
    """Whether a server accepts connections on host:port now (what a test waits for before its first request)."""
    with socket.socket() as probe:
        return probe.connect_ex((host, port)) == 0


@dataclass(frozen=True)
class Ran:
    """What a program did: as subprocess.CompletedProcess names it."""

    returncode: int
    stdout: str
    stderr: str


_CHILD = r"""
import contextlib, gc, io, json, os, sys, traceback
replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
os.dup2(2, 1)  # what C code writes to fd 1 must not mix with the replies
import torch, transformers  # noqa: F401 - the imports every snippet would otherwise pay for
seed = torch.initial_seed()


def _remembered(owner, name):
    # `owner.name(...)` loading from a GGUF file (de-quantising it: about 15 s) runs once per arguments; each
    # snippet gets its own deep copy, so nothing one snippet does to its model or tokenizer reaches another.
    import copy
    method = getattr(owner, name).__func__
    loads = {}

    def load(cls, *args, **kwargs):
        if not kwargs.get("gguf_file"):
            return method(cls, *args, **kwargs)
        key = (cls, repr(args), repr(sorted(kwargs.items())))
        if key not in loads:
            loads[key] = method(cls, *args, **kwargs)
        return copy.deepcopy(loads[key])

    setattr(owner, name, classmethod(load))


def _remembered_gguf_reads():
    # Beneath those: reading and de-quantising a GGUF file, once per file and model class, so a model loaded
    # with other arguments (attn_implementation="eager" for /causal and /qkv) or a config does not pay again.
    import copy
    from transformers import modeling_gguf_pytorch_utils as gguf_utils
    read = gguf_utils.load_gguf_checkpoint
    reads = {}

    def load_gguf_checkpoint(path, return_tensors=False, model_to_load=None, torch_dtype=None):
        key = (str(path), return_tensors, type(model_to_load).__name__, str(torch_dtype))
        if key not in reads:
            reads[key] = read(path, return_tensors=return_tensors, model_to_load=model_to_load,
                              torch_dtype=torch_dtype)
        return copy.deepcopy(reads[key])

    gguf_utils.load_gguf_checkpoint = load_gguf_checkpoint


from transformers.models.auto.auto_factory import _BaseAutoModelClass
_remembered(_BaseAutoModelClass, "from_pretrained")
_remembered(transformers.AutoTokenizer, "from_pretrained")
_remembered_gguf_reads()
# And beneath those, for the child's life: a GGUF file parsed once, as the bot's own de-quantising does.
sys.path.insert(0, sys.argv[1])
from core.gguf_reads import reading_each_gguf_once
sys.path.remove(sys.argv[1])
gguf_reads = contextlib.ExitStack()  # held here: a context manager dropped would close at once
gguf_reads.enter_context(reading_each_gguf_once())
for request in sys.stdin:
    program = json.loads(request)
    out, err, code = io.StringIO(), io.StringIO(), 0
    torch.manual_seed(seed)
    sys.argv = ["-c"]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            exec(compile(program, "<string>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if not isinstance(exc.code, int) and exc.code is not None:
                print(exc.code, file=sys.stderr)
        except BaseException:
            traceback.print_exc()
            code = 1
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
    gc.collect()
    replies.write(json.dumps([code, out.getvalue(), err.getvalue()]) + "\n")
    replies.flush()
"""


class _Child:
    """One long-lived interpreter running programs one at a time (see the module's docstring)."""

    def __init__(self, env: Mapping[str, str], cwd: Path | None) -> None:
        self.log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")  # noqa: SIM115 - lives as long as the child
        self.proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(ROOT)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, env=dict(env), cwd=cwd, text=True,
                                     encoding="utf-8")
        self.replies: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.replies.put(line)
        self.replies.put("")  # the child has gone

    def run(self, program: str, timeout: float) -> Ran:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(program) + "\n")
        self.proc.stdin.flush()
        try:
            reply = self.replies.get(timeout=timeout)
        except queue.Empty:
            self.close()
            raise subprocess.TimeoutExpired(["<snippet>"], timeout) from None
        if not reply:
            self.log.seek(0)
            return Ran(self.proc.wait(), "", f"the snippet runner died:\n{self.log.read()[-3000:]}")
        code, out, err = json.loads(reply)
        return Ran(code, out, err)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.log.close()


MAX_CHILDREN = 2
"""Pooled interpreters kept per test process (each holds torch and the models of its last snippet)."""
_children: dict[tuple[tuple[str, str], ...], _Child] = {}
_lock = threading.Lock()


@atexit.register
def _close_children() -> None:
    for child in _children.values():
        child.close()
    _children.clear()


_NOT_A_LEARNERS = ("PYTEST_CURRENT_TEST", "TOKENIZERS_PARALLELISM", "TORCHINDUCTOR_CACHE_DIR")
"""Set in this process's environment by pytest (on every test), transformers' pipelines (on their first list of
inputs) and torch's inductor (when first imported), none in a learner's shell: kept out, they also leave the key of
a pooled interpreter unchanged, so one child serves a test process's snippets instead of one before and one after."""


def run_python(program: str, env: Mapping[str, str] | None = None, *, cwd: Path | None = None,
               timeout: float = 300, fresh: bool = False) -> Ran:
    """Run `program` as `python -c program` would, with `env` (default: this process's) and `cwd`: in a fresh
    interpreter when `fresh` (or TUTOR_TEST_FRESH_SNIPPETS=1), else in a pooled one (the module's docstring)."""
    env = {k: v for k, v in (os.environ if env is None else env).items() if k not in _NOT_A_LEARNERS}
    if fresh or os.environ.get("TUTOR_TEST_FRESH_SNIPPETS") == "1":
        done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, env=env, cwd=cwd,
                              timeout=timeout, check=False)
        return Ran(done.returncode, done.stdout, done.stderr)
    key = (*sorted(env.items()), ("<cwd>", str(cwd)))
    with _lock:
        child = _children.get(key)
        if child is not None and not child.alive():
            _children.pop(key).close()
            child = None
        if child is None:
            while len(_children) >= MAX_CHILDREN:  # the oldest goes: environments change (tokenizers sets one)
                _children.pop(next(iter(_children))).close()
            child = _children[key] = _Child(env, cwd)
        return child.run(program, timeout)


def snippet_outputs(programs: Sequence[str]) -> list[str]:
    """What each snippet prints when a learner runs it (offline, the tests' model cache); one that fails fails the
    test with its error."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error", "TUTOR_CACHE_DIR": str(TEST_CACHE)}
    outputs = []
    for program in programs:
        ran = run_python(program, env, timeout=600)
        assert ran.returncode == 0, ran.stderr[-3000:]
        outputs.append(ran.stdout)
    return outputs


def tutor_cli(*args: str, cwd: Path, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    """`python -m bot ARGS` in `cwd` (a learner's working folder), a fresh process on the tests' cache, offline,
    without the platforms' tokens or the TUTOR_ settings of this machine's environment (but with the test
    process's share of torch threads: conftest.py), `env` on top."""
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("DISCORD_", "SLACK_", "TUTOR_")) or k == "TUTOR_TORCH_THREADS"}
    environment = {**base, "PYTHONPATH": str(ROOT), "TUTOR_CACHE_DIR": str(TEST_CACHE), "HF_HUB_OFFLINE": "1", **env}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, capture_output=True, text=True,
                          env=environment, timeout=timeout, check=False)
