"""`navagent bench features`: frames/s of the feature cache (stage 1 of the default recipe) by decode workers.

Workload: views rendered by the built-in simulator in generated train houses (`navagent data views`: 224 px
JPEGs at quality 90, as the navigation walks write them), each shown plain and mirrored, through the
randomly initialised tower of a model preset (default `configs/model/nav-conv-agent.yaml`, the default
agent's). Every case builds the whole cache from nothing into its own folder, so each one decodes every JPEG,
preprocesses it and runs the tower once:

* baseline — decoding and preprocessing in the tower's process (``workers=0``), one batch after another;
* ``workers`` = 1, 2, ... — `DataLoader` worker processes decode and preprocess the next batches while the
  tower runs.

Reported per case: frames/s (the cache's frames over the wall time of `build_feature_cache`, writing the
cache included) and the ratio to the baseline, after a warm-up batch (first reads, first forward); every case's
features are checked to be the baseline's.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from navagent.benchmarks.report import BenchmarkReport, Measurement

BASELINE = "decode in process (0 workers)"
DEFAULT_PRESET = Path(__file__).resolve().parents[2] / "configs" / "model" / "nav-conv-agent.yaml"


def run_features_benchmark(
    houses: int = 2,
    views_per_house: int = 256,
    workers: Sequence[int] = (1, 2),
    batch_size: int = 256,
    model_preset: str | Path | None = None,
) -> BenchmarkReport:
    """Render the views, then measure the baseline and each worker count in this run; return the report."""
    from navagent.model import (
        build_tiny_model,
        build_tiny_processor,
        build_tiny_tokenizer,
        load_tiny_model_spec,
    )
    from navagent.train.feature_cache import FeatureCache, build_feature_cache
    from navagent.train.samples import Sample
    from navagent.train.view_data import load_views, write_views

    if any(count < 1 for count in workers):
        raise ValueError(f"workers must be >= 1 (0 is the baseline, always measured), got {list(workers)}")
    preset = Path(model_preset or DEFAULT_PRESET)
    spec = load_tiny_model_spec(preset)
    tokenizer = build_tiny_tokenizer(spec.tokenizer)
    model, processor = build_tiny_model(spec, tokenizer).eval(), build_tiny_processor(spec, tokenizer)
    with tempfile.TemporaryDirectory(prefix="navagent-bench-features-") as folder:
        root = Path(folder)
        annotation = write_views(root / "views", "train", houses, views_per_house, seed=0, progress=False)
        images = [annotation.parent / view["image"] for view in load_views(annotation)["views"]]
        samples = [
            Sample(f"bench:{index}:{mirrored}", (), (image,), mirrored)
            for index, image in enumerate(images)
            for mirrored in (False, True)
        ]
        report = BenchmarkReport(
            f"feature cache: {len(samples)} frames ({len(images)} rendered views, plain + mirrored), tower of "
            f"{preset.name}, batch {batch_size}, {torch.get_num_threads()} torch "
            "thread(s) in the tower's process",
            baseline=BASELINE,
        )
        build_feature_cache(
            model, processor, samples[:batch_size], root, root / "warm-up", progress=False, workers=0
        )
        baseline: torch.Tensor | None = None
        for count in (0, *workers):
            out = root / f"features-{count}"
            start = time.perf_counter()
            build_feature_cache(
                model, processor, samples, root, out, batch_size, progress=False, workers=count
            )
            seconds = time.perf_counter() - start
            cache = FeatureCache(out)
            if baseline is None:
                baseline = cache.features
            elif not torch.equal(cache.features, baseline):
                raise RuntimeError(f"feature cache with {count} workers differs from the in-process one")
            name = BASELINE if count == 0 else f"{count} decode worker{'s' if count > 1 else ''}"
            report.add(Measurement(name, len(cache) / seconds, "frames/s", {"seconds": seconds}))
    return report
