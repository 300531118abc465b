"""``law.tasks`` after ``law.contrib.load("tasks")``: law's general-purpose task classes.

:class:`RunOnceTask` (complete once it ran in this process), :class:`TransferLocalFile`
(copy a local file to an output, or to several replicas of it) and :class:`ForestMerge`
(merge the many outputs of a workflow in a tree of merge steps of ``merge_factor`` inputs
each), as law 0.1.21 has them. CascadeMerge, which law removed in 0.1.4 in favour of
ForestMerge, is a clear error.
"""

from __future__ import annotations

import abc
import os
from typing import Any, ClassVar

import luigi

import law_core
from law.parameter import NO_STR
from law.target.collection import SiblingFileCollection, TargetCollection
from law.target.local import LocalFileTarget
from law.task import Task
from law.util import DotDict, flatten, iter_chunks, map_struct, range_expand
from law.workflow import LocalWorkflow

__all__ = ["RunOnceTask", "TransferLocalFile", "ForestMerge"]

_NOT_YET = ("CascadeMerge",)


class RunOnceTask(Task):
    """Complete as soon as :meth:`mark_complete` was called, which ``run()`` does at its
    end (or :meth:`complete_on_success` around it): for tasks with nothing to store, such
    as printing a summary."""

    exclude_index = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._has_run = False

    @staticmethod
    def complete_on_success(fn: Any) -> Any:
        """Decorate ``run`` to mark the task complete when it returns without error."""
        import functools

        @functools.wraps(fn)
        def run(task: RunOnceTask, *args: Any, **kwargs: Any) -> Any:
            result = fn(task, *args, **kwargs)
            task.mark_complete()
            return result

        return run

    @property
    def has_run(self) -> bool:
        return self._has_run

    def mark_complete(self) -> None:
        self._has_run = True

    def complete(self) -> bool:
        return self._has_run


class TransferLocalFile(Task):
    """Copy a local file (``--source-path``, else this task's input) to
    :meth:`single_output`, or with ``--replicas N`` to N copies next to it named
    ``NAME.i.EXT``, held in a :class:`~law.target.collection.SiblingFileCollection`."""

    source_path = luigi.Parameter(
        default=NO_STR, description="path to the file to transfer; when empty, the task "
        "input is used; default: empty")
    replicas = luigi.IntParameter(
        default=0, description="number of replicas to generate; when > 0 the output will be "
        "a file collection instead of a single file; default: 0")

    exclude_index = True
    exclude_params_repr_empty = {"source_path"}

    def get_source_target(self) -> Any:
        if self.source_path not in (NO_STR, None):
            path = os.path.expandvars(os.path.expanduser(str(self.source_path)))
            return LocalFileTarget(os.path.abspath(path))
        return self.input()

    @abc.abstractmethod
    def single_output(self) -> Any:
        """The target the file is copied to (without replicas)."""

    def get_replicated_path(self, basename: str, i: int | None = None) -> str:
        if i is None:
            return basename
        name, ext = os.path.splitext(basename)
        return f"{name}.{i}{ext}"

    def output(self) -> Any:
        output = self.single_output()
        if self.replicas <= 0:
            return output
        directory = output.parent
        return SiblingFileCollection([
            directory.child(self.get_replicated_path(output.basename, i), "f")
            for i in range(self.replicas)])

    def run(self) -> None:
        self.transfer(self.get_source_target())

    def trace_transfer_output(self, output: Any) -> Any:
        return output

    def transfer(self, src_path: Any, output: Any = None) -> None:
        if output is None:
            output = self.trace_transfer_output(self.output())
        source = getattr(src_path, "path", src_path)
        if not isinstance(output, law_core.TargetCollection):
            output.copy_from_local(source)
            return
        progress = self.create_progress_callback(self.replicas)
        for i, replica in enumerate(output.targets):
            replica.copy_from_local(source)
            progress(i)
            self.publish_message(f"uploaded {replica.basename}")


def _nodes(nested: Any, node: tuple[int, ...] | None = None,
           root_id: int = 0) -> list[tuple[int, ...]]:
    """The nodes of a nested list of leaf chunks: each node is the path of child indices
    from the root (the root of tree i is ``(i,)``)."""
    if not isinstance(nested, list):
        return []
    nodes = [] if node is None else [node]
    for i, child in enumerate(nested):
        nodes += _nodes(child, (node + (i,)) if node else (root_id,))
    return nodes


class ForestMerge(LocalWorkflow):
    """Merge the outputs of a workflow in trees (law's ForestMerge).

    The leaves are the inputs from :meth:`merge_workflow_requires`; each merge step (a
    branch at a depth of a tree, a node) merges up to ``merge_factor`` inputs into one
    output, until the root of each tree writes its part of :meth:`merge_output` (one
    target: one tree; a list or collection: one tree per item). Each depth of a tree is a
    workflow (``--tree-index``, ``--tree-depth``); the default ``--tree-index -1`` is the
    forest, which requires the roots of all trees. Intermediate results are written next
    to the final output (``node_format``) and removed once merged (unless
    ``--keep-nodes``). Subclasses implement ``merge_workflow_requires``,
    ``merge_requires(start_leaf, end_leaf)``, ``merge_output`` and
    ``merge(inputs, output)``, and may trace inputs (``trace_merge_workflow_inputs``,
    ``trace_merge_inputs``).
    """

    tree_index = luigi.IntParameter(
        default=-1, description="the index of the merged tree in the forest; -1 denotes the "
        "forest itself which requires and outputs all trees; default: -1")
    tree_depth = luigi.IntParameter(
        default=0, description="the depth of this workflow in the merge tree; 0 denotes the "
        "root; default: 0")
    keep_nodes = luigi.BoolParameter(
        significant=False, description="keep merged results, i.e., task outputs from "
        "intermediate nodes in the merge tree; default: False")

    # every node must be merged: fixed, not parameters
    acceptance = 1.0
    tolerance = 0.0
    pilot = False

    node_format: ClassVar[str] = "{name}.t{tree}.d{depth}.b{branch}{ext}"
    postfix_format: ClassVar[str] = "t{tree}_d{depth}"
    merge_factor: ClassVar[int] = 2

    exclude_index = True
    exclude_params_forest_merge: ClassVar[set[str]] = {
        "tree_index", "tree_depth", "keep_nodes", "branch", "branches"}

    @classmethod
    def modify_param_values(cls, params: Any) -> Any:
        params = super().modify_param_values(params)
        # the forest is not a workflow: it is branch 0 (requiring the roots of the trees)
        if "tree_index" in params and "branch" in params and params["tree_index"] < 0:
            params["branch"] = 0
        return params

    @classmethod
    def _req_tree(cls, inst: ForestMerge, **kwargs: Any) -> ForestMerge:
        """Another node of the forest of ``inst``, which shares its forest."""
        kwargs["_exclude"] = set(kwargs.pop("_exclude", set())) | {"branches"}
        kwargs["_skip_task_excludes"] = True
        new = cls.req(inst, **kwargs)
        if inst.__dict__.get("_forest") is not None and new.__dict__.get("_forest") is None:
            new.__dict__["_forest"] = inst.__dict__["_forest"]
        return new

    @classmethod
    def _mark_merge_output_placeholder(cls, target: Any) -> Any:
        """Mark a target (from :meth:`merge_output`) as a placeholder: while the output is
        not known yet, the forest is one node, and built anew on the next use."""
        target._is_merge_output_placeholder = True
        return target

    @classmethod
    def _check_merge_output_placeholder(cls, target: Any) -> bool:
        return bool(getattr(target, "_is_merge_output_placeholder", False))

    def is_forest(self) -> bool:
        return self.tree_index < 0

    def is_root(self) -> bool:
        return not self.is_forest() and self.tree_depth == 0

    def is_leaf(self) -> bool:
        return not self.is_forest() and self.tree_depth == self.max_tree_depth

    def req_workflow(self, **kwargs: Any) -> Any:
        # the workflow of the forest (branch 0) is tree 0, which has the forest's layout
        if self.is_forest():
            kwargs["tree_index"] = 0
        return super().req_workflow(**kwargs)

    @property
    def max_tree_depth(self) -> int:
        return max(self._get_tree())

    @property
    def merge_forest(self) -> list[dict[int, list[tuple[int, ...]]]]:
        return self._build_merge_forest()[0]

    @property
    def leaves_per_tree(self) -> list[int]:
        return self._build_merge_forest()[1]

    @property
    def leaf_range(self) -> tuple[int, int]:
        """The leaves (inputs) ``[start, end)`` a leaf node merges."""
        if not self.is_leaf():
            raise law_core.TaskError(f"leaf_range of {self!r}: only leaves of the merge tree "
                                     "have one")
        per_tree = self.leaves_per_tree
        n_leaves = per_tree[self.tree_index]
        offset = sum(per_tree[:self.tree_index])
        factor = self.merge_factor if self.merge_factor > 0 else n_leaves
        start = offset + self.branch * factor
        return start, min(start + factor, offset + n_leaves)

    def _get_tree(self) -> dict[int, list[tuple[int, ...]]]:
        if self.is_forest():
            raise law_core.TaskError(f"{self!r} is the merge forest, which has no tree of its "
                                     "own")
        forest = self.merge_forest
        if self.tree_index >= len(forest):
            raise law_core.TaskError(f"merge tree {self.tree_index} of {type(self).__name__} "
                                     f"not found, the forest has {len(forest)} tree(s)")
        return forest[self.tree_index]

    def _build_merge_forest(self) -> tuple[list[dict[int, list[tuple[int, ...]]]], list[int]]:
        """(the trees, the number of leaves of each): each tree maps a depth to its nodes,
        a node being the path of child indices from the root. Kept once known (not while
        :meth:`merge_output` is a placeholder)."""
        cached = self.__dict__.get("_forest")
        if cached is not None:
            return cached
        output = self.merge_output()
        placeholder = self._check_merge_output_placeholder(output)
        n_trees = 1
        if not placeholder and isinstance(output, (list, tuple, law_core.TargetCollection)):
            n_trees = len(output)
        if placeholder:
            n_leaves = 1
        else:
            wf = self.as_workflow()
            inputs = luigi.task.getpaths(wf.merge_workflow_requires())
            inputs = wf.trace_merge_workflow_inputs(inputs)
            n_leaves = inputs if isinstance(inputs, int) else len(inputs)
        if n_leaves < n_trees:
            raise law_core.TaskError(f"too few leaves ({n_leaves}) for the {n_trees} merge "
                                     f"trees of {type(self).__name__}")
        n_min, n_more = divmod(n_leaves, n_trees)
        per_tree = n_more * [n_min + 1] + (n_trees - n_more) * [n_min]
        forest: list[dict[int, list[tuple[int, ...]]]] = []
        if placeholder:
            forest.append({0: [(0,)]})
        else:
            for i, n in enumerate(per_tree):
                nested = list(iter_chunks(n, self.merge_factor))
                while len(nested) > 1:
                    nested = list(iter_chunks(nested, self.merge_factor))
                tree: dict[int, list[tuple[int, ...]]] = {}
                for node in _nodes(nested, root_id=i):
                    tree.setdefault(len(node) - 1, []).append(node)
                forest.append(tree)
        if not self.is_forest() and self.tree_depth > max(forest[self.tree_index]):
            raise law_core.TaskError(f"tree_depth {self.tree_depth} exceeds the depth "
                                     f"{max(forest[self.tree_index])} of the merge tree of "
                                     f"{self!r}")
        if not placeholder:
            self.__dict__["_forest"] = (forest, per_tree)
        return forest, per_tree

    def create_branch_map(self) -> dict[int, tuple[int, ...]]:
        if self.is_forest():
            return {0: None}
        return dict(enumerate(self._get_tree()[self.tree_depth]))

    def trace_merge_workflow_inputs(self, inputs: Any) -> Any:
        """The inputs to merge from the outputs of :meth:`merge_workflow_requires` (needs a
        length, or is the number of inputs); default: a workflow's collection."""
        if isinstance(inputs, dict) and "collection" in inputs:
            collection = inputs["collection"]
            if isinstance(collection, law_core.TargetCollection):
                return collection
        return inputs

    def trace_merge_inputs(self, inputs: Any) -> Any:
        """The inputs of a leaf node as a sequence, from its ``input()`` of
        :meth:`merge_requires`."""
        return inputs

    @abc.abstractmethod
    def merge_workflow_requires(self) -> Any:
        """What the leaves come from (a workflow, usually)."""

    @abc.abstractmethod
    def merge_requires(self, start_leaf: int, end_leaf: int) -> Any:
        """What a leaf node merges: the leaves ``[start_leaf, end_leaf)``."""

    @abc.abstractmethod
    def merge_output(self) -> Any:
        """The final output: a target (one tree), or a list/collection (one per tree)."""

    @abc.abstractmethod
    def merge(self, inputs: list[Any], output: Any) -> None:
        """Merge ``inputs`` into ``output``."""

    def workflow_requires(self) -> Any:
        if self.branch != -1:
            return self.as_workflow().workflow_requires()
        reqs = super().workflow_requires()
        if self.is_forest():
            raise law_core.TaskError(f"{self!r}: the merge forest has no workflow "
                                     "requirements")
        if self.is_leaf():
            reqs["forest_merge"] = self.merge_workflow_requires()
        else:
            reqs["forest_merge"] = self._req_tree(self, tree_depth=self.tree_depth + 1)
        return reqs

    def _forest_requires(self) -> dict[int, ForestMerge]:
        """The root workflow of each tree (``--branches`` selects trees by index)."""
        n_trees = len(self.merge_forest if not self.is_forest() else
                      self.as_workflow().merge_forest)
        indices: Any = range(n_trees)
        if self.branches:
            indices = [i for i in range_expand(list(self.branches), min_value=0,
                                               max_value=n_trees) if 0 <= i < n_trees]
        return {i: self._req_tree(self, branch=-1, tree_index=i,
                                  _exclude=self.exclude_params_workflow) for i in indices}

    def requires(self) -> Any:
        reqs = DotDict()
        if self.is_forest():
            reqs["forest_merge"] = self._forest_requires()
        elif self.is_leaf():
            reqs["forest_merge"] = self.merge_requires(*self.leaf_range)
        else:
            node = self.branch_data
            children = [b for b, n in enumerate(self._get_tree()[self.tree_depth + 1])
                        if n[:-1] == node]
            reqs["forest_merge"] = {b: self._req_tree(self, branch=b,
                                                      tree_depth=self.tree_depth + 1)
                                    for b in children}
        return reqs

    def output(self) -> Any:
        output = self.merge_output()
        if self.is_forest():
            return output
        if isinstance(output, (list, tuple, law_core.TargetCollection)):
            output = output[self.tree_index]
        if self.is_root():
            return output
        if isinstance(output, SiblingFileCollection):
            directory = output.dir
        else:
            first = flatten(output)[0]
            if not isinstance(first, law_core.FileSystemTarget):
                raise law_core.TaskError(f"cannot place the intermediate merge outputs of "
                                         f"{self!r} next to {output!r}: not a file target")
            directory = first.parent

        def intermediate(target: Any) -> Any:
            name, ext = os.path.splitext(target.basename)
            return directory.child(self.node_format.format(
                name=name, ext=ext, tree=self.tree_index, branch=self.branch,
                depth=self.tree_depth), type="f")

        if isinstance(output, TargetCollection):
            return output.map(intermediate)
        return map_struct(intermediate, output)

    def run(self) -> None:
        if self.is_forest():
            return  # the trees are its requirements: complete once they are
        inputs = self.input()["forest_merge"]
        inputs = list(self.trace_merge_inputs(inputs) if self.is_leaf() else inputs.values())
        node = (self.tree_index, *self.branch_data)
        self.publish_message(f"start merging {len(inputs)} inputs of node {node}")
        self.merge(inputs, self.output())
        if not self.is_leaf() and not self.keep_nodes:
            with self.publish_step(f"removing intermediate results of node {node}"):
                for target in flatten(inputs):
                    target.remove()


def __getattr__(name: str) -> Any:
    if name in _NOT_YET:
        raise AttributeError(f"law.tasks.{name} is not yet supported by law-core-compat (law "
                             "removed it in 0.1.4); use law.tasks.ForestMerge")
    raise AttributeError(f"module 'law.tasks' has no attribute {name!r}")
