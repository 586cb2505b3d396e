"""The console adapter as a learner runs it: `tutor ask` exit codes, printed answers, image paths."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import tutor_cli
from tests.support.paths import ROOT, TEST_CACHE


def tutor(*args: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """`python -m bot ...` (bot/__main__.py) in a learner's folder: tests/support/__init__.py."""
    return tutor_cli(*args, cwd=tmp_path, **env)


def test_ask_answers_and_exits_0(tmp_path):
    done = tutor("--pack", "offline", "ask", "/tokenize I'm learning", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "ids: 101 1045 1005 1049 4083 102" in done.stdout
    assert "Try it yourself" in done.stdout and "What happened" in done.stdout


def test_ask_prints_image_paths_one_per_line(tmp_path):
    done = tutor("--pack", "tiny", "--out", "pics", "ask", "/attention The cat sat. head=mean", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    block = done.stdout.split("Images:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    paths = [line for line in block if line and not line.startswith(" ")]
    assert len(paths) == 1 and Path(paths[0]).read_bytes().startswith(b"\x89PNG")
    assert block[1].startswith("  Shows: ") and "attention" in block[1], "the picture's alt text follows its path"
    assert Path(paths[0]).parent == (tmp_path / "pics").resolve()


def test_user_error_exits_2_with_a_clear_message(tmp_path):
    done = tutor("--pack", "tiny", "ask", "/fillmask no mask here", tmp_path=tmp_path)
    assert done.returncode == 2
    assert "exactly one `[MASK]`" in done.stderr and "Traceback" not in done.stderr


def test_invalid_configuration_is_one_message_not_a_traceback(tmp_path):
    done = tutor("ask", "/help", tmp_path=tmp_path, TUTOR_WORKERS="many")
    assert done.returncode == 2
    assert "TUTOR_WORKERS must be a whole number; got `many`" in done.stderr
    assert "Traceback" not in done.stderr


def test_dotenv_file_is_read_as_compose_reads_it(tmp_path):
    (tmp_path / ".env").write_text('TUTOR_PACK=offline # the offline pack\nTUTOR_WORKERS="1" # quoted\n')
    done = tutor("ask", "/models", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Model pack offline" in done.stdout


def test_a_dotenv_line_that_is_no_setting_is_one_configuration_error(tmp_path):
    (tmp_path / ".env").write_text("TUTOR_PACK=offline\nTUTOR_WORKERS 2\n")
    done = tutor("ask", "/models", tmp_path=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == "Configuration error: .env line 2 is not KEY=VALUE: `TUTOR_WORKERS 2`."


def test_chat_loop_answers_until_quit(tmp_path):
    environment = {**os.environ, "TUTOR_CACHE_DIR": str(TEST_CACHE), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "bot", "--pack", "tiny", "chat"], cwd=tmp_path, env=environment,
                          input="/tokenize hello world\n/nope\n/quit\n", capture_output=True, text=True, timeout=300)
    assert done.returncode == 0
    assert "hello" in done.stdout and "Did you mean" in done.stderr


def test_chat_asks_y_n_before_forget_and_enter_keeps_everything(tmp_path):
    """/forget asks the terminal's way: y deletes, n or a bare Enter cancels; other lines stay commands."""
    environment = {**os.environ, "TUTOR_CACHE_DIR": str(TEST_CACHE), "PYTHONPATH": str(ROOT),
                   "TUTOR_DATABASE_URL": f"sqlite:///{tmp_path / 'tutor.db'}"}
    typed = "/progress\n/forget\n\n/forget\nn\n/forget\n/tokenize hi\n/forget\n🤗 <@123>\ny\n/quit\n"
    done = subprocess.run([sys.executable, "-m", "bot", "--pack", "tiny", "chat"], cwd=tmp_path, env=environment,
                          input=typed, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("Yes, forget me? Type y to confirm; n, or just Enter, for Cancel (y/N).") == 4
    assert done.stdout.count("Nothing was deleted.") == 2, "Enter and n both cancel"
    assert "ids:" in done.stdout, "a command typed instead of y or n is answered as a command"
    assert "Type y for Yes, forget me, or n (or just Enter) for Cancel; a command starts with /." in done.stderr
    assert "There is no command" not in done.stderr, "an odd answer to y/N is not read as a command name"
    assert done.stdout.count("**Done**") + done.stdout.count("Done:") == 1, done.stdout[-800:]


def test_ask_names_the_choices_chat_would_offer_with_a_selects_options_under_its_placeholder(tmp_path):
    done = tutor("--pack", "tiny", "ask", "/fillmask `café` 🤗 <@123> is [MASK].", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("In `tutor chat`, this answer goes on with: More guesses"), last
    assert "; Mask another word: 0: café, 1: 123, 2: is." in last and "Next (type a number)" not in done.stdout


def test_installed_tutor_reaches_the_benchmark_suite_with_its_options(tmp_path):
    """`tutor bench --quick`, from any folder: the console script finds bench/ in the source checkout,
    and a leading option goes to the suite (here an unknown one, so the suite's own parser answers)."""
    script = Path(sys.executable).parent / "tutor"
    done = subprocess.run([str(script), "bench", "--no-such-option"], cwd=tmp_path, capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, timeout=120)
    assert done.returncode == 2
    assert "usage: tutor bench" in done.stderr and "--quick" in done.stderr
    assert "unrecognized arguments: --no-such-option" in done.stderr


def test_chat_reads_bytes_that_are_not_utf8_from_stdin_without_a_traceback(tmp_path):
    """A pipe with Latin-1 bytes, read with a strict UTF-8 stdin (what a UTF-8 locale gives): the
    line reaches the core, which cleans it (core/text.py), and the session goes on."""
    environment = {**os.environ, "TUTOR_CACHE_DIR": str(TEST_CACHE), "PYTHONPATH": str(ROOT),
                   "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run([sys.executable, "-m", "bot", "--pack", "tiny", "chat"], cwd=tmp_path, env=environment,
                          input=b"/nope caf\xe9 \xff\n/tokenize hello world\n/quit\n", capture_output=True, timeout=300)
    err = done.stderr.decode("utf-8")
    assert done.returncode == 0, err
    assert "Traceback" not in err and "There is no command `/nope`" in err
    assert "hello" in done.stdout.decode("utf-8")


def test_ask_with_argv_bytes_that_are_not_utf8_answers_without_a_traceback(tmp_path):
    environment = {**os.environ, "TUTOR_CACHE_DIR": str(TEST_CACHE), "PYTHONPATH": str(ROOT),
                   "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run([sys.executable, "-m", "bot", "--pack", "tiny", "ask", b"/nope caf\xe9"], cwd=tmp_path,
                          env=environment, capture_output=True, timeout=300)
    err = done.stderr.decode("utf-8")
    assert done.returncode == 2 and "Traceback" not in err
    assert err.startswith("Error: There is no command `/nope`")


def test_an_answer_printed_to_an_ascii_only_pipe_is_escaped_not_a_crash(tmp_path):
    done = tutor("--pack", "tiny", "ask", "/tokenize naïve 你好", tmp_path=tmp_path, PYTHONIOENCODING="ascii")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "\\u4f60" in done.stdout and "na\\xefve" in done.stdout  # 你 and ï, written as escapes


# ----- one grammar: shared options anywhere, -h with examples, --version, python -m bot -----
def test_python_dash_m_bot_is_the_tutor_command_and_takes_the_pack_after_the_subcommand(tmp_path):
    done = tutor("ask", "/models", "--pack", "offline", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Model pack offline" in done.stdout


def test_a_shared_option_after_a_server_subcommand_is_read_not_refused(tmp_path):
    """`tutor discord --pack offline` gets as far as `tutor --pack offline discord`: the missing token."""
    for argv in (["discord", "--pack", "offline"], ["--pack", "offline", "discord"]):
        done = tutor(*argv, tmp_path=tmp_path)
        assert done.returncode == 2
        assert "unrecognized arguments" not in done.stderr, argv
        assert "Set DISCORD_TOKEN for Discord" in done.stderr, (argv, done.stderr)


@pytest.mark.parametrize("argv, pack, out, verbose", [
    (["discord", "--pack", "offline"], "offline", "tutor-out", False),
    (["--pack", "tiny", "discord"], "tiny", "tutor-out", False),
    (["--pack", "tiny", "run", "--pack", "offline"], "offline", "tutor-out", False),
    (["models", "pull", "--pack", "offline"], "offline", "tutor-out", False),
    (["ask", "/help", "--out", "pics", "--verbose"], None, "pics", True),
    (["--verbose", "--out", "pics", "chat"], None, "pics", True),
    (["serve-models", "--only", "generate", "--pack", "tiny"], "tiny", "tutor-out", False),
])
def test_shared_options_mean_the_same_before_or_after_the_subcommand(argv, pack, out, verbose):
    from bot.ops.cli import _parser

    args = _parser().parse_args(argv)
    assert (args.pack, args.out, args.verbose) == (pack, Path(out), verbose)


def test_every_subcommand_help_says_what_it_does_with_an_example(capsys):
    from bot.ops.cli import ABOUT, _parser, main

    parser = _parser()
    commands = parser._subparsers._group_actions[0].choices
    assert set(commands) == set(ABOUT)
    for name in commands:
        if name == "bench":  # its options are the suite's: main() hands them over before parsing
            assert main(["bench", "-h"]) == 0
        else:
            with pytest.raises(SystemExit) as exit_:
                parser.parse_args([name, "-h"])
            assert exit_.value.code == 0
        shown = capsys.readouterr().out
        assert ABOUT[name][1].split(":")[0].split(",")[0] in " ".join(shown.split()), (name, shown)
        examples = shown.split("examples:\n", 1)[1].splitlines()
        assert examples[0].startswith(f"  tutor {name}"), (name, shown)


def test_version_is_the_installed_packages(tmp_path):
    from importlib.metadata import version

    done = tutor("--version", tmp_path=tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == f"tutor {version('transformers-tutor')}"


def test_bench_options_reach_the_suite_in_the_order_typed(tmp_path):
    """`--only coldstart,ray --scale` used to reach the suite as `coldstart,ray --scale --only` ("argument --only:
    expected one argument"); here the suite reads the list and names the part it does not know."""
    done = tutor("bench", "--only", "nosuch,ray", "--scale", tmp_path=tmp_path)
    assert done.returncode == 2
    assert "expected one argument" not in done.stderr
    assert "unknown part(s) nosuch" in done.stderr
