#!/usr/bin/env python3
"""`cmake --install` and the Debian package (cmake/HxPackaging.cmake).

Default (ctest cli_package), nothing outside a temporary directory changes:
- the build tree's generated completions and man page are what the built hx
  generates now (the build step is not stale);
- `cmake --install --prefix P` puts bin/hx, the three completions, the man
  page and the systemd user unit under P, the unit running P/bin/hx;
- `cpack -G DEB` builds hx_<version>_<arch>.deb: `dpkg-deb -c` lists exactly
  those files under /usr (the unit running /usr/bin/hx); its control fields
  are right; its Depends name the package of every shared library bin/hx
  links (directly or through Provides), no -dev package, and each is
  satisfied on this machine;
- `dpkg --root R -i` installs it into a scratch root R whose dpkg database
  holds only the packages the Depends name (copied from this machine's, so
  dpkg itself checks the dependencies), the installed hx runs
  (`hx version`, and `hx --version` once hx has it), and `dpkg --root R -r`
  removes every file again.

--system (ctest cli_package_system, opt-in with -DHX_TEST_SYSTEM_PACKAGE=ON):
`dpkg -i` on this machine, `hx version` from PATH, `man -w hx`, `dpkg -r`.
Not a default test because it needs root, changes the machine's package
database and /usr, fails where another hx is installed, and would race the
dpkg lock with other builds on the same machine.

Usage: package_test.py --build-dir B --cmake CMAKE --cpack CPACK [--system]
"""
import argparse
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

ARGS = None

UNIT = "lib/systemd/user/hx-watch@.service"
FILES = [  # relative to the prefix
    "bin/hx",
    "share/bash-completion/completions/hx",
    "share/zsh/vendor-completions/_hx",
    "share/fish/vendor_completions.d/hx.fish",
    "share/man/man1/hx.1.gz",
    UNIT,
]
GENERATED = {  # file -> the hx command that generates it
    "share/bash-completion/completions/hx": ["completion", "bash"],
    "share/zsh/vendor-completions/_hx": ["completion", "zsh"],
    "share/fish/vendor_completions.d/hx.fish": ["completion", "fish"],
    "share/man/man1/hx.1": ["man"],
}


def run(*cmd, check=True, **kwargs):
    done = subprocess.run(list(cmd), capture_output=True, text=True, timeout=600, **kwargs)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return done


def built_hx():
    return os.path.join(ARGS.build_dir, "src", "cli", "hx")


def hx_version(hx):
    """'0.1.0' from `hx version` ("hx 0.1.0 (store format 1)")."""
    out = run(hx, "version").stdout
    match = re.match(r"hx (\S+) ", out)
    assert match, out
    return match.group(1)


def read_installed(root, relative):
    with open(os.path.join(root, relative), "rb") as f:
        data = f.read()
    return gzip.decompress(data).decode() if relative.endswith(".gz") else data.decode()


def check_installed_tree(test, prefix, bin_path, hx):
    """The files under `prefix` are hx's own output, and the unit runs `bin_path`."""
    for relative, command in GENERATED.items():
        name = relative + ".gz" if relative.endswith(".1") else relative
        test.assertEqual(read_installed(prefix, name), run(hx, *command).stdout, name)
    unit = read_installed(prefix, UNIT)
    test.assertIn(f"\nExecStart={bin_path} sync watch %f\n", unit)
    test.assertNotIn("%h/.local/bin", unit)
    test.assertIn("Documentation=man:hx(1)", unit)


def parse_depends(field):
    """'a (>= 1), b | c' -> [[('a', '>=', '1')], [('b', None, None), ('c', None, None)]]."""
    groups = []
    for group in field.split(","):
        alternatives = []
        for alternative in group.split("|"):
            match = re.fullmatch(r"\s*([a-z0-9][a-z0-9+.-]+)(?::\S+)?\s*(?:\((<<|<=|=|>=|>>)\s*(\S+)\))?\s*",
                                 alternative)
            assert match, f"unparsable dependency: {alternative!r}"
            alternatives.append(match.groups())
        groups.append(alternatives)
    return groups


def dpkg_status_paragraphs(path="/var/lib/dpkg/status"):
    with open(path, encoding="utf-8", errors="replace") as f:
        return [p for p in f.read().split("\n\n") if p.strip()]


def field(paragraph, name):
    match = re.search(rf"(?m)^{name}: (.*)$", paragraph)
    return match.group(1) if match else None


def provided_names(paragraph):
    names = {field(paragraph, "Package")}
    for provide in (field(paragraph, "Provides") or "").split(","):
        if provide.strip():
            names.add(provide.split("(")[0].strip())
    return names


class Install(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory(prefix="hx-package-test-")
        self.hx = built_hx()

    def tearDown(self):
        self.dir.cleanup()

    def test_build_tree_files_are_current(self):
        share = os.path.join(ARGS.build_dir, "share")
        for relative, command in GENERATED.items():
            path = os.path.join(share, relative[len("share/"):])
            self.assertTrue(os.path.exists(path), f"{path} is missing: build the hx_shell_files target")
            with open(path) as f:
                self.assertEqual(f.read(), run(self.hx, *command).stdout, f"{path} is stale")

    def test_cmake_install_puts_every_file_under_the_prefix(self):
        prefix = os.path.join(self.dir.name, "prefix")
        run(ARGS.cmake, "--install", ARGS.build_dir, "--prefix", prefix)
        found = sorted(os.path.relpath(os.path.join(d, f), prefix)
                       for d, _, fs in os.walk(prefix) for f in fs)
        self.assertEqual(found, sorted(FILES))
        self.assertTrue(os.access(os.path.join(prefix, "bin/hx"), os.X_OK))
        check_installed_tree(self, prefix, os.path.join(prefix, "bin/hx"), self.hx)


def build_deb(workdir):
    out = os.path.join(workdir, "cpack")
    run(ARGS.cpack, "-G", "DEB", "--config", os.path.join(ARGS.build_dir, "CPackConfig.cmake"), "-B", out)
    debs = [f for f in os.listdir(out) if f.endswith(".deb")]
    assert len(debs) == 1, debs
    return os.path.join(out, debs[0])


class DebianPackage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ("dpkg-deb", "dpkg-shlibdeps", "dpkg"):
            if not shutil.which(tool):
                raise unittest.SkipTest(f"{tool} is missing (dpkg-dev: scripts/deps.sh installs it)")
        cls.dir = tempfile.TemporaryDirectory(prefix="hx-package-test-")
        cls.deb = build_deb(cls.dir.name)
        cls.version = hx_version(built_hx())
        cls.arch = run("dpkg", "--print-architecture").stdout.strip()
        cls.control = {name: run("dpkg-deb", "-f", cls.deb, name).stdout.strip()
                       for name in ("Package", "Version", "Architecture", "Maintainer", "Depends",
                                    "Recommends", "Description", "Section", "Priority")}

    @classmethod
    def tearDownClass(cls):
        cls.dir.cleanup()

    def test_is_named_and_described(self):
        self.assertEqual(os.path.basename(self.deb), f"hx_{self.version}_{self.arch}.deb")
        self.assertEqual(self.control["Package"], "hx")
        self.assertEqual(self.control["Version"], self.version)
        self.assertEqual(self.control["Architecture"], self.arch)
        self.assertRegex(self.control["Maintainer"], r"^.+ <[^@ ]+@[^> ]+>$")
        self.assertEqual(self.control["Section"], "utils")
        self.assertEqual(self.control["Priority"], "optional")
        self.assertEqual(self.control["Recommends"], "ca-certificates")  # S3 over HTTPS
        summary, *body = self.control["Description"].split("\n")
        self.assertTrue(summary and len(summary) < 80, summary)
        self.assertTrue(body, "a long description")

    def test_lists_the_binary_completions_man_page_and_unit(self):
        listing = run("dpkg-deb", "-c", self.deb).stdout.splitlines()
        files = {}
        for line in listing:
            mode, owner, _size, _date, _time, name = line.split(None, 5)
            if not mode.startswith("d"):
                files[name] = (mode, owner)
        self.assertEqual(sorted(files), sorted("./usr/" + f for f in FILES))
        self.assertEqual(files["./usr/bin/hx"], ("-rwxr-xr-x", "root/root"))
        for name, (mode, owner) in files.items():
            if name != "./usr/bin/hx":
                self.assertEqual((mode, owner), ("-rw-r--r--", "root/root"), name)

    def test_depends_name_the_package_of_every_linked_library(self):
        extracted = os.path.join(self.dir.name, "x")
        run("dpkg-deb", "-x", self.deb, extracted)
        binary = os.path.join(extracted, "usr/bin/hx")
        self.assertNotIn("debug_info", run("readelf", "-S", binary).stdout, "the binary is stripped")
        depends = parse_depends(self.control["Depends"])
        named = {name for group in depends for name, _, _ in group}
        self.assertFalse([n for n in named if n.endswith("-dev")], named)
        self.assertIn("libc6", named)
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+)\]", run("readelf", "-d", binary).stdout)
        self.assertTrue(needed)
        resolved = dict(re.findall(r"^\s*(\S+) => (\S+)", run("ldd", binary).stdout, re.M))
        status = dpkg_status_paragraphs()
        for library in needed:
            path = resolved[library]
            owner = None
            for candidate in {path, os.path.realpath(path), "/usr" + path, path.removeprefix("/usr")}:
                done = run("dpkg", "-S", candidate, check=False)
                if done.returncode == 0:
                    owner = done.stdout.split(":")[0]
                    break
            self.assertIsNotNone(owner, f"no package holds {path}")
            names = set().union(*[provided_names(p) for p in status if field(p, "Package") == owner])
            self.assertTrue(names & named, f"{library} ({owner}, provides {names}) not in Depends: {named}")

    def test_depends_are_satisfied_here(self):
        status = [p for p in dpkg_status_paragraphs() if "install ok installed" in (field(p, "Status") or "")]
        for group in parse_depends(self.control["Depends"]):
            satisfied = False
            for name, op, version in group:
                for paragraph in status:
                    if name not in provided_names(paragraph):
                        continue
                    if op is None:
                        satisfied = True
                    else:
                        relation = {"<<": "lt", "<=": "le", "=": "eq", ">=": "ge", ">>": "gt"}[op]
                        satisfied |= run("dpkg", "--compare-versions", field(paragraph, "Version"),
                                         relation, version, check=False).returncode == 0
            self.assertTrue(satisfied, f"{group} is not installed here")

    def test_installs_runs_and_removes_in_a_scratch_root(self):
        root = os.path.join(self.dir.name, "root")
        admin = os.path.join(root, "var/lib/dpkg")
        for sub in ("info", "updates", "triggers"):
            os.makedirs(os.path.join(admin, sub))
        # The scratch database holds the packages the Depends name, as they
        # are installed here: dpkg checks the dependencies for real.
        named = {name for group in parse_depends(self.control["Depends"]) for name, _, _ in group}
        kept = [p for p in dpkg_status_paragraphs()
                if "install ok installed" in (field(p, "Status") or "") and provided_names(p) & named]
        with open(os.path.join(admin, "status"), "w") as f:
            f.write("\n\n".join(kept) + "\n")
        for paragraph in kept:  # their (empty) file lists
            package, arch = field(paragraph, "Package"), field(paragraph, "Architecture")
            for name in (package, f"{package}:{arch}"):
                open(os.path.join(admin, "info", name + ".list"), "w").close()
        open(os.path.join(admin, "available"), "w").close()
        dpkg = ["dpkg", f"--root={root}"] + (["--force-not-root"] if os.geteuid() != 0 else [])

        done = run(*dpkg, "-i", self.deb)
        self.assertNotIn("dependency problems", done.stdout + done.stderr)
        self.assertIn("install ok installed", run(*dpkg, "-s", "hx").stdout)
        for relative in FILES:
            self.assertTrue(os.path.isfile(os.path.join(root, "usr", relative)), relative)
        hx = os.path.join(root, "usr/bin/hx")
        self.assertEqual(run(hx, "version").stdout, f"hx {self.version} (store format 1)\n")
        if "--version" in run(hx, "--help").stdout:  # hx --version lands beside this change
            self.assertIn(self.version, run(hx, "--version").stdout)
        check_installed_tree(self, os.path.join(root, "usr"), "/usr/bin/hx", hx)

        run(*dpkg, "-r", "hx")
        for relative in FILES:
            self.assertFalse(os.path.exists(os.path.join(root, "usr", relative)), relative)
        self.assertNotIn("install ok installed", run(*dpkg, "-s", "hx", check=False).stdout)


class SystemInstall(unittest.TestCase):
    """Opt-in: installs the package on this machine and removes it."""

    def test_dpkg_install_run_remove(self):
        if os.geteuid() != 0:
            self.fail("needs root (dpkg -i on this machine)")
        if run("dpkg-query", "-W", "hx", check=False).returncode == 0 or os.path.exists("/usr/bin/hx"):
            self.fail("an hx is already installed here; remove it first (dpkg -r hx)")
        with tempfile.TemporaryDirectory(prefix="hx-package-test-") as workdir:
            deb = build_deb(workdir)
            try:
                run("dpkg", "-i", deb)
                env = {**os.environ, "PATH": "/usr/bin:/bin"}
                self.assertRegex(run("hx", "version", env=env).stdout, r"^hx \S+ \(store format 1\)\n$")
                self.assertEqual(run("man", "-w", "hx").stdout.strip(), "/usr/share/man/man1/hx.1.gz")
                self.assertTrue(os.path.isfile("/usr/lib/systemd/user/hx-watch@.service"))
            finally:
                run("dpkg", "-r", "hx")
            self.assertFalse(os.path.exists("/usr/bin/hx"))
            self.assertNotEqual(run("dpkg-query", "-W", "-f=${Status}", "hx", check=False).stdout,
                                "install ok installed")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--cmake", default="cmake")
    parser.add_argument("--cpack", default="cpack")
    parser.add_argument("--system", action="store_true")
    ARGS, rest = parser.parse_known_args()
    ARGS.build_dir = os.path.abspath(ARGS.build_dir)
    tests = ["SystemInstall"] if ARGS.system else ["Install", "DebianPackage"]
    unittest.main(argv=[sys.argv[0], "-v", *(rest or tests)])
