#!/usr/bin/env python3
"""The completion scripts and the man page hx generates from its own command
definitions (`hx completion bash|zsh|fish`, `hx man`; src/cli/command_spec.h).

What they must cover is read independently of the generator: from CLI11's
own `hx <command> --help` of every command, walked recursively. Then:

- each script parses (bash -n, zsh -n, fish -n);
- each shell, driven for real, completes every command's subcommands and
  every option its --help lists, the choices of --progress, and the
  documented cases (`hx sy<TAB>` -> sync; global flags before and after the
  command). bash through its programmable completion (COMP_WORDS,
  COMP_CWORD, _hx); fish through `complete -C`; zsh through a pseudo-terminal
  (zsh/zpty) with compinit and the _hx file on $fpath;
- the man page renders with groff without a warning, has NAME, SYNOPSIS and a
  section per command naming each of its options, and man-db reads its NAME.

A shell or tool that is not installed is skipped with a message
(scripts/deps.sh installs zsh and fish, so CI runs all three).
Usage: completion_test.py <hx binary>
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import unittest

HX = None


def hx(*args):
    done = subprocess.run([HX, *args], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise AssertionError(f"hx {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return done.stdout


def help_sections(path):
    """CLI11's --help of `hx <path>`: {"Options": [names], "Subcommands": [names]}."""
    sections, current = {}, None
    for line in hx(*path, "--help").splitlines():
        header = re.fullmatch(r"(\w+):", line)
        if header:
            current = sections.setdefault(header.group(1), [])
            continue
        item = re.match(r"  (\S+)", line)  # items are indented by 2, wrapped text by 30
        if current is not None and item:
            current.append(item.group(1))
    options = []
    for item in sections.get("Options", []):
        # "--read-data{100}": a flag and the value it takes when given alone.
        options += [re.sub(r"\{.*\}$", "", name) for name in item.split(",") if name.startswith("-")]
    return {"options": options, "subcommands": sections.get("Subcommands", [])}


def command_tree():
    """{(): help of hx, ("sync",): help of hx sync, ...} for every command."""
    tree, pending = {}, [()]
    while pending:
        path = pending.pop(0)
        tree[path] = help_sections(path)
        pending += [path + (sub,) for sub in tree[path]["subcommands"]]
    return tree


TREE = None
GLOBAL_OPTIONS = None


def line_for(path, tail):
    return " ".join(("hx",) + path + (tail,))


class Scripts(unittest.TestCase):
    """Shared checks: every subcommand and option, and the documented cases."""

    def check_all(self, complete):
        """complete(lines) -> one list of candidates per command line."""
        lines, expected = [], []
        for path, help in TREE.items():
            if help["subcommands"]:
                lines.append(line_for(path, ""))
                expected.append(("subcommands", path, set(help["subcommands"])))
            lines.append(line_for(path, "-"))
            expected.append(("options", path, set(help["options"])))
        documented = {
            "hx sy": {"sync"},
            "hx sync pu": {"push", "pull"},
            "hx --json sync pu": {"push", "pull"},
            "hx --progress json sync st": {"status"},
            "hx sync push --progress ": {"auto", "json", "none"},
            "hx sync push ~/vault --qu": {"--quiet"},
        }
        for line, want in documented.items():
            lines.append(line)
            expected.append(("documented", line, want))
        results = complete(lines)
        self.assertEqual(len(results), len(lines))
        for (kind, what, want), got in zip(expected, results):
            got = set(got)
            if kind == "options":
                # Its own options (as --help lists them) and the global ones.
                self.assertLessEqual(want, got, f"options of hx {' '.join(what)}")
                self.assertLessEqual(got, want | GLOBAL_OPTIONS, f"options of hx {' '.join(what)}")
            else:
                self.assertEqual(got, want, f"{kind}: {what}")


class Bash(Scripts):
    def setUp(self):
        self.script = hx("completion", "bash")
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "hx.bash")
        with open(self.path, "w") as f:
            f.write(self.script)

    def tearDown(self):
        self.dir.cleanup()

    def complete(self, lines):
        driver = [f"source {shlex.quote(self.path)}"]
        for line in lines:
            words = line.split(" ")  # a trailing space is an empty current word
            words = [os.path.expanduser(w) if w.startswith("~") else w for w in words]
            driver.append("COMP_WORDS=(" + " ".join(shlex.quote(w) for w in words) + ")")
            driver.append(f"COMP_CWORD={len(words) - 1}; COMPREPLY=(); _hx")
            driver.append("printf '%s\\n' \"${COMPREPLY[@]}\"; echo @@")
        done = subprocess.run(["bash", "--norc", "--noprofile", "-c", "\n".join(driver)],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stderr, "")
        chunks = done.stdout.split("@@\n")[:-1]
        return [[w for w in chunk.split("\n") if w] for chunk in chunks]

    def test_script_parses(self):
        done = subprocess.run(["bash", "-n", self.path], capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stderr)

    def test_completes_every_subcommand_option_and_choice(self):
        self.check_all(self.complete)

    def test_value_after_equals_sign(self):
        # COMP_WORDBREAKS splits "--progress=j" into "--progress" "=" "j".
        driver = (f"source {shlex.quote(self.path)}\n"
                  "COMPREPLY=(); COMP_WORDS=(hx sync push --progress = j); COMP_CWORD=5; _hx; echo ${COMPREPLY[*]}\n"
                  "COMPREPLY=(); COMP_WORDS=(hx sync push --progress = x); COMP_CWORD=6; _hx; echo ${COMPREPLY[*]}\n"
                  "COMPREPLY=(); COMP_WORDS=(hx sync push --progress=j); COMP_CWORD=3; _hx; echo ${COMPREPLY[*]}\n")
        done = subprocess.run(["bash", "--norc", "-c", driver], capture_output=True, text=True)
        self.assertEqual(done.stdout.splitlines(), ["json", "", "--progress=json"])

    def test_positionals_fall_back_to_file_names(self):
        # No reply at a positional, so `complete -o default` completes files.
        self.assertEqual(self.complete(["hx sync push "]), [[]])
        self.assertIn("complete -o default -F _hx hx", self.script)


class Fish(Scripts):
    def setUp(self):
        if not shutil.which("fish"):
            self.skipTest("fish is not installed (scripts/deps.sh installs it): fish completion unchecked")
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "hx.fish")
        with open(self.path, "w") as f:
            f.write(hx("completion", "fish"))

    def tearDown(self):
        self.dir.cleanup()

    def complete(self, lines):
        driver = [f"source {shlex.quote(self.path)}"]
        for line in lines:
            driver.append(f"complete -C {shlex.quote(os.path.expanduser(line))}; echo @@")
        done = subprocess.run(["fish", "--no-config", "-c", "\n".join(driver)],
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(done.returncode, 0, done.stderr)
        chunks = done.stdout.split("@@\n")[:-1]
        return [[w.split("\t")[0] for w in chunk.split("\n") if w] for chunk in chunks]

    def test_script_parses(self):
        done = subprocess.run(["fish", "--no-config", "-n", self.path], capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stderr)

    def test_completes_every_subcommand_option_and_choice(self):
        self.check_all(self.complete)


# Runs zsh's real completion in a pseudo-terminal: for each LINE, types
# LINE<TAB> and prints what compadd was given, then "@@".
ZSH_DRIVER = r"""
zmodload zsh/zpty || exit 2
zpty z zsh -f -i
zpty -w z "PROMPT=''; RPROMPT=''; fpath=(${(q)1} \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z 'compadd () { builtin compadd -O __hits "$@"; (( $#__hits )) && print -l -- ">>"${^__hits}; builtin compadd "$@" }'
zpty -w z 'bindkey "^I" complete-word; zstyle ":completion:*" menu no; zstyle ":completion:*" list-grouped false'
# Typing before the shell is ready would lose the keys: wait for it.
zpty -w z 'print __READY""__'
integer n=0 tries=0
while (( tries++ < 1200 )); do
  if zpty -r -t z line; then [[ $line == __READY__* ]] && break; else sleep 0.05; fi
done
shift
for input in "$@"; do
  (( n++ ))
  zpty -w -n z "$input"$'\t'
  zpty -w z $'\C-u'"print __END__${n}__"
  tries=0
  while (( tries++ < 1200 )); do
    if zpty -r -t z line; then
      [[ $line == __END__${n}__* ]] && break
      [[ $line == *'>>'* ]] && print -r -- "${${line#*>>}%%$'\r'*}"
    else
      sleep 0.05
    fi
  done
  (( tries > 1200 )) && { print -u2 "zsh gave no answer for: $input"; exit 3 }
  print -r -- "@@"
done
zpty -d z
"""


class Zsh(Scripts):
    def setUp(self):
        if not shutil.which("zsh"):
            self.skipTest("zsh is not installed (scripts/deps.sh installs it): zsh completion unchecked")
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "_hx")
        with open(self.path, "w") as f:
            f.write(hx("completion", "zsh"))
        self.driver = os.path.join(self.dir.name, "driver.zsh")
        with open(self.driver, "w") as f:
            f.write(ZSH_DRIVER)

    def tearDown(self):
        self.dir.cleanup()

    def complete(self, lines):
        done = subprocess.run(["zsh", "-f", self.driver, self.dir.name, *lines],
                              capture_output=True, text=True, timeout=300,
                              env={**os.environ, "HOME": self.dir.name, "TERM": "dumb"})
        self.assertEqual(done.returncode, 0, done.stderr)
        chunks = done.stdout.split("@@\n")[:-1]
        return [[w for w in chunk.split("\n") if w] for chunk in chunks]

    def test_script_parses(self):
        done = subprocess.run(["zsh", "-n", self.path], capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stderr)

    def test_completes_every_subcommand_option_and_choice(self):
        self.check_all(self.complete)


def roff_text(text):
    return text.replace("-", "\\-")


class ManPage(unittest.TestCase):
    def setUp(self):
        self.page = hx("man")
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "hx.1")
        with open(self.path, "w") as f:
            f.write(self.page)

    def tearDown(self):
        self.dir.cleanup()

    def test_renders_without_warnings(self):
        if not shutil.which("groff"):
            self.skipTest("groff is not installed: rendering unchecked (structure is)")
        done = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", self.path],
                              capture_output=True, text=True)
        self.assertEqual((done.returncode, done.stderr), (0, ""))
        text = subprocess.run(["groff", "-man", "-Tutf8", "-P-cbou", self.path],
                              capture_output=True, text=True).stdout
        self.assertIn("hx sync push [OPTIONS] vault_path [target_uri]", text)
        self.assertIn("--progress auto|json|none", text)

    def test_man_db_reads_its_name(self):
        if not shutil.which("lexgrog"):
            self.skipTest("man-db is not installed: NAME parsing unchecked")
        done = subprocess.run(["lexgrog", self.path], capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertIn('"hx - keeps one folder identical', done.stdout)

    def test_has_every_command_and_its_options(self):
        self.assertTrue(self.page.startswith(".\\\""), "a comment first")
        self.assertRegex(self.page, r'(?m)^\.TH HX 1 "" "hx \d+\.\d+\.\d+" "User Commands"$')
        for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "GLOBAL OPTIONS", "COMMANDS",
                        "ENVIRONMENT", "EXIT STATUS", "FILES"]:
            self.assertRegex(self.page, rf"(?m)^\.SH {section}$")
        sections = re.split(r'(?m)^\.SS "hx ', self.page)
        by_path = {s.split('"', 1)[0]: s for s in sections[1:]}
        for path, help in TREE.items():
            if not path:
                continue
            name = roff_text(" ".join(path))
            self.assertTrue(name in by_path, f"no section for hx {' '.join(path)} in {sorted(by_path)}")
            for option in help["options"]:
                if option in ("-h", "--help"):
                    continue
                self.assertIn(f"\\fB{roff_text(option)}\\fR", by_path[name],
                              f"{option} in the section of hx {' '.join(path)}")
        for option in TREE[()]["options"]:
            self.assertIn(f"\\fB{roff_text(option)}\\fR", self.page.split(".SH COMMANDS")[0])

    def test_is_ascii_and_hides_the_generators(self):
        self.page.encode("ascii")
        self.assertNotIn('.SS "hx completion"', self.page)
        self.assertNotIn('.SS "hx man"', self.page)
        self.assertNotIn("completion", TREE[()]["subcommands"])


if __name__ == "__main__":
    HX = os.path.abspath(sys.argv.pop(1))
    TREE = command_tree()
    GLOBAL_OPTIONS = set(TREE[()]["options"])
    unittest.main(verbosity=2)
