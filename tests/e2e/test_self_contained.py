"""A clone of the repository tests itself: no build file, script or test may read the
`shared` folder that sits beside the developers' checkout (a user's clone has none)."""
import re
import subprocess

from conftest import REPO

# Where a path could be built: build files, scripts, tests, CI. Docs may mention the spec.
CHECKED = re.compile(r"(CMakeLists\.txt|Makefile|\.cmake|\.py|\.cpp|\.h|\.mjs|\.js|\.sh|/run|install-deps|run-demo)$")
# A relative path up and into it, or a pathlib parent joined with the folder's name: a reference
# to the sibling folder. (Written in pieces so that this file does not match itself.)
UP = r"\.\." + "/"
SIBLING = re.compile(UP + r"shared\b|parents?(\[\d\])?\s*/\s*[\"']shared[\"']")


def tracked_files():
    out = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True)
    return [f for f in out.stdout.splitlines() if CHECKED.search(f)]


def test_nothing_reads_the_sibling_shared_folder():
    files = tracked_files()
    assert "tests/testdata/usersig_vectors.json" in subprocess.run(
        ["git", "ls-files", "tests/testdata"], cwd=REPO, capture_output=True, text=True).stdout
    offenders = []
    for f in files:
        text = (REPO / f).read_text(errors="replace")
        for n, line in enumerate(text.splitlines(), 1):
            if SIBLING.search(line):
                offenders.append(f"{f}:{n}: {line.strip()}")
    assert offenders == [], "reads the sibling shared folder:\n" + "\n".join(offenders)
