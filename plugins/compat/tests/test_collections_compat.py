"""law's target collections: the same script under law 0.1.21 and law-core-compat prints
the same answers (counts, what iter_existing/iter_missing yield, thresholds, keys, the
directory of sibling files, a workflow's ``input()["collection"]``)."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

from law_reference import COMPAT_BIN, _env  # noqa: F401

SCRIPT = textwrap.dedent('''
    import json
    import os
    import sys

    import luigi
    import law

    base = os.path.abspath("store")
    out = {}

    def rel(target):
        return os.path.relpath(target.path, base)

    def names(items):
        return [rel(t) for t in items]

    def pairs(items):
        return [[k, rel(t)] for k, t in items]

    def touch(*paths):
        for p in paths:
            os.makedirs(os.path.dirname(os.path.join(base, p)), exist_ok=True)
            open(os.path.join(base, p), "w").write(p)

    def target(p):
        return law.LocalFileTarget(os.path.join(base, p))

    touch("a/0.txt", "a/2.txt", "a/3.txt", "b/1.txt")

    # a list of targets
    coll = law.TargetCollection([target(f"a/{i}.txt") for i in range(5)])
    out["list"] = {
        "len": len(coll), "count": coll.count(), "count_keys": list(coll.count(keys=True)),
        "exists": coll.exists(), "keys": coll.keys(),
        "existing": names(coll.iter_existing()), "missing": names(coll.iter_missing()),
        "existing_keys": pairs(coll.iter_existing(keys=True)),
        "all": names(coll.iter_all()),
        "unpacked": [names(ts) for ts in coll.iter_existing(unpack=False)],
        "first": rel(coll.first_target), "getitem": rel(coll[3]),
        "targets_type": type(coll.targets).__name__ in ("list", "_TargetList"),
        "iterate_targets": names(coll.targets),
        "uri": [u.rsplit("/", 2)[-2:] for u in coll.uri()],
    }
    try:
        iter(coll)
        out["list"]["iterable"] = True
    except TypeError:
        out["list"]["iterable"] = False
    out["thresholds"] = {str(t): law.TargetCollection(
        [target(f"a/{i}.txt") for i in range(5)], threshold=t).exists()
        for t in (0.5, 0.6, 0.61, 0.8, 1.0, 2, 3, 4, 10, -1)}

    # a dict of structures of targets
    coll = law.TargetCollection({
        "x": [target("a/0.txt"), target("b/1.txt")],
        "y": {"one": target("a/2.txt"), "two": target("a/4.txt")},
        "z": target("a/3.txt"),
    }, threshold=0.5)
    out["dict"] = {
        "count": coll.count(), "exists": coll.exists(), "keys": sorted(coll.keys()),
        "existing": sorted(k for k, _ in coll.iter_existing(keys=True)),
        "missing": sorted(k for k, _ in coll.iter_missing(keys=True)),
        "unpacked_missing": [sorted(names(ts)) for ts in coll.iter_missing(unpack=False)],
    }

    # siblings in one directory, and their directory
    sib = law.SiblingFileCollection([target(f"a/{i}.txt") for i in range(5)])
    out["sibling"] = {
        "dir": rel(sib.dir), "dir_is_dir": isinstance(sib.dir, law.LocalDirectoryTarget),
        "count": sib.count(), "existing": names(sib.iter_existing()),
        "missing_keys": [k for k, _ in sib.iter_missing(keys=True)],
        # in the order of the listing: os.listdir's for law, sorted for law-core
        "from_dir": sorted(names(law.SiblingFileCollection.from_directory(
            os.path.join(base, "a")).targets)),
        "mapped": names(sib.map(lambda t: t.parent.child("m_" + t.basename, "f")).targets),
        "mapped_type": type(sib.map(lambda t: t).__class__).__name__,
    }
    try:
        law.SiblingFileCollection([target("a/0.txt"), target("b/1.txt")])
        out["sibling"]["two_dirs"] = "accepted"
    except Exception:
        out["sibling"]["two_dirs"] = "refused"

    nested = law.NestedSiblingFileCollection(
        [target("a/0.txt"), target("b/1.txt"), target("a/2.txt"), target("b/3.txt")])
    out["nested"] = {
        "count": nested.count(), "exists": nested.exists(),
        "collections": sorted(rel(c.dir) for c in nested.collections),
        "missing": names(nested.iter_missing()),
    }

    # a collection of collections
    outer = law.TargetCollection([
        law.SiblingFileCollection([target("a/0.txt"), target("a/2.txt")]),
        law.SiblingFileCollection([target("a/0.txt"), target("a/1.txt")]),
    ])
    out["outer"] = {"count": outer.count(), "first": rel(outer.first_target),
                    "keys": outer.count(keys=True)[1]}

    # remove() takes every target away
    touch("c/0.txt", "c/1.txt")
    gone = law.SiblingFileCollection([target("c/0.txt"), target("c/1.txt"), target("c/2.txt")])
    gone.remove()
    out["removed"] = sorted(os.listdir(os.path.join(base, "c")))


    # a workflow's outputs, seen by the task that requires it
    class Numbers(law.LocalWorkflow):
        def create_branch_map(self):
            return list(range(6))

        def output(self):
            return law.LocalFileTarget(os.path.join(base, "wf", f"n{self.branch}.txt"))

        def run(self):
            pass


    class Siblings(Numbers):
        output_collection_cls = law.SiblingFileCollection


    class Sum(law.Task):
        def requires(self):
            return {"plain": Numbers.req(self), "sib": Siblings.req(self)}

        def output(self):
            return law.LocalFileTarget(os.path.join(base, "sum.txt"))

        def run(self):
            pass


    touch("wf/n1.txt", "wf/n4.txt")
    for name, inp in sorted(Sum().input().items()):
        coll = inp["collection"]
        out["workflow_" + name] = {
            "same_as_attr": inp.collection is coll, "len": len(coll), "count": coll.count(),
            "exists": coll.exists(), "existing": names(coll.iter_existing()),
            "missing_keys": [k for k, _ in coll.iter_missing(keys=True)],
            "first": rel(coll.first_target),
            "sibling": isinstance(coll, law.SiblingFileCollection),
            "dir": rel(coll.dir) if isinstance(coll, law.SiblingFileCollection) else None,
            "is_collection": isinstance(coll, law.TargetCollection),
        }
    print(json.dumps(out, indent=1, sort_keys=True))
''')


def _run(bin_dir: Path, workdir: Path) -> dict:
    workdir.mkdir()
    (workdir / "script.py").write_text(SCRIPT)
    (workdir / "law.cfg").write_text("[core]\n")
    result = subprocess.run(["python", "script.py"], cwd=workdir, env=_env(bin_dir, workdir, {}),
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_collections_answer_as_law(tmp_path: Path, law_bin: Path) -> None:
    law_out = _run(law_bin, tmp_path / "law")
    compat_out = _run(COMPAT_BIN, tmp_path / "compat")
    for key in law_out:
        assert compat_out[key] == law_out[key], key
    assert compat_out == law_out
    # the answers are about real files, not two equally empty outcomes
    assert law_out["list"]["existing"] == ["a/0.txt", "a/2.txt", "a/3.txt"]
    assert law_out["workflow_plain"]["count"] == 2


def test_collection_of_a_workflow_builds_only_what_it_yields(tmp_path: Path) -> None:
    """law-core's existence from listings stays: counting a workflow's collection of
    200000 branches does not call output() for each branch."""
    import law

    calls = []

    class Many(law.LocalWorkflow):
        def create_branch_map(self):
            return list(range(200000))

        def output(self):
            calls.append(self.branch)
            return law.LocalFileTarget(str(tmp_path / f"out_{self.branch}.txt"))

    (tmp_path / "out_7.txt").write_text("7")
    (tmp_path / "out_99999.txt").write_text("x")
    coll = Many().output()["collection"]
    assert isinstance(coll, law.TargetCollection)
    assert coll.count() == 2 and not coll.exists()
    assert [t.basename for t in coll.iter_existing()] == ["out_7.txt", "out_99999.txt"]
    assert [k for k, _ in coll.iter_existing(keys=True)] == [7, 99999]
    # output() ran for a few sampled branches only: the rest follows the pattern of paths
    assert len(calls) < 100
