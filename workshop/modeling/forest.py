"""The fitted trees as one Python function: one row in microseconds, bit for bit the same.

scikit-learn's ``HistGradientBoostingRegressor.predict`` is built for batches: for one row it
validates the input, then calls each of its 100 trees through a Python wrapper that opens an OpenMP
region (~8 µs a tree, ~0.8 ms a row; measured with py-spy on the service, 40 % of a request).
:class:`FlatForest` turns the fitted nodes into the source of one function, a nest of ``if x3 <=
threshold:`` per tree (each feature read once into a local), compiled once when the model is loaded
(~0.4 s for 100 trees of 63 leaves): a row then costs ~11 µs, against ~40 µs for a loop over node
lists and ~800 µs through scikit-learn (``benchmarks/predictor.py``). The comparisons are the ones
the Cython predictor makes (``sklearn/ensemble/_hist_gradient_boosting/_predictor.pyx``: NaN
follows ``missing_go_to_left``, otherwise ``x <= num_threshold`` goes left), the thresholds and
leaf values are written with ``repr`` (exact for floats), and the leaves are added in the trees'
order onto the same baseline, so a single row gets exactly the batch path's float
(``tests/unit/modeling/test_forest.py`` compares them on thousands of rows).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

# One tree: (is_leaf, feature, threshold, missing_go_to_left, left, right, value), node-indexed.
_Tree = tuple[list[bool], list[int], list[float], list[bool], list[int], list[int], list[float]]


class FlatForest:
    """A fitted ``HistGradientBoostingRegressor``'s trees, for one row at a time."""

    def __init__(self, baseline: float, trees: list[_Tree]) -> None:
        self.baseline = baseline
        self.trees = trees
        self._evaluate = self._compile()

    def _compile(self) -> Callable[[Sequence[float]], float]:
        # Each feature the trees split on is read from the row once, into a local: a split is
        # then ``x3 <= …``, half the bytecode of ``row[3] <= …`` (215 KB against 372 KB). In a
        # served process the code a prediction walks is cold in the cache at every request,
        # so its size is its cost: the model call took ~80 µs there against ~20 µs in a loop,
        # ~50 µs with locals (p50 of a route calling it, over HTTP, concurrency 1).
        used = sorted(
            {f for t in self.trees for f, leaf in zip(t[1], t[0], strict=True) if not leaf}
        )
        lines = ["def evaluate(row):", f"    total = {self.baseline!r}"]
        lines += [f"    x{f} = row[{f}]" for f in used]
        for tree in self.trees:
            _emit(tree, 0, 1, lines)
        lines.append("    return total")
        namespace: dict[str, Any] = {}
        exec(compile("\n".join(lines), "<workshop.modeling.forest>", "exec"), namespace)
        return namespace["evaluate"]  # type: ignore[no-any-return]

    @classmethod
    def from_estimator(cls, model: Any, columns: Sequence[int] | None = None) -> FlatForest:
        """Flatten ``model`` (numerical splits, one tree per iteration).

        ``columns[j]`` is where the tree feature ``j`` sits in the rows given to
        :meth:`predict_row` (the model may have been fitted on a subset of the columns).
        Raises ``ValueError`` for what the flat walk does not reproduce (categorical splits,
        several trees per iteration): the caller keeps scikit-learn's path then.
        """
        if getattr(model, "n_trees_per_iteration_", 1) != 1:
            raise ValueError("only one tree per iteration is supported")
        mapping = (
            list(range(model.n_features_in_)) if columns is None else [int(c) for c in columns]
        )
        trees: list[_Tree] = []
        for (predictor,) in model._predictors:
            nodes = predictor.nodes
            if nodes["is_categorical"].any():
                raise ValueError("categorical splits are not supported")
            trees.append(
                (
                    nodes["is_leaf"].astype(bool).tolist(),
                    [mapping[f] for f in nodes["feature_idx"].tolist()],
                    nodes["num_threshold"].tolist(),
                    nodes["missing_go_to_left"].astype(bool).tolist(),
                    nodes["left"].tolist(),
                    nodes["right"].tolist(),
                    nodes["value"].tolist(),
                )
            )
        baseline = np.asarray(model._baseline_prediction, dtype=np.float64).ravel()
        return cls(float(baseline[0]), trees)

    def predict_row(self, row: Sequence[float]) -> float:
        """The raw prediction (baseline + every tree's leaf) of one row of floats."""
        return self._evaluate(row)


def _emit(tree: _Tree, node: int, depth: int, lines: list[str]) -> None:
    """Source lines of the subtree at ``node`` (one ``if``/``else`` per split)."""
    is_leaf, feature, threshold, missing_left, left, right, value = tree
    pad = "    " * depth
    if is_leaf[node]:
        lines.append(f"{pad}total += {value[node]!r}")
        return
    x = f"x{feature[node]}"
    # A NaN fails every comparison, so it lands in ``else`` (right) unless it must go left.
    test = f"{x} <= {threshold[node]!r}" + (f" or {x} != {x}" if missing_left[node] else "")
    lines.append(f"{pad}if {test}:")
    _emit(tree, left[node], depth + 1, lines)
    lines.append(f"{pad}else:")
    _emit(tree, right[node], depth + 1, lines)
