"""How much of the oracle's next action can be read from the current view alone? (a data diagnostic)

Fits a linear classifier and a one-hidden-layer MLP from the current frame (downscaled to SIZE x SIZE, pixels
standardised) to the action kind of each record (forward / turn left / turn right / stop) on training records,
and reports their accuracy on held-out records next to the majority-kind floor. A view-only probe far above
the floor means the frames carry the decision; one at the floor means the decision needs the instruction and
the history, i.e. the model has to ground language, not just react to what it sees.

    python scripts/probe_action_from_view.py \\
        --train data/default-agent/builtin_r2r/train_nav.json --train-frames data/default-agent/builtin_r2r/frames \\
        --heldout data/default-agent/heldout_nav/val_unseen_nav.json \\
        --heldout-frames data/default-agent/heldout_nav/frames
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from navagent.agent.actions import parse_action
from navagent.train.datasets.base import read_records
from navagent.train.samples import resolve_under_root


def load_views(records_path: Path, frames_root: Path, limit: int, size: int, seed: int):
    """(N, size*size*3) float32 pixels of each record's current frame in [0, 1], (N,) action kinds."""
    records = read_records(records_path)
    random.Random(seed).shuffle(records)
    pixels, kinds = [], []
    for index, record in enumerate(records[:limit]):
        path = resolve_under_root(frames_root, record["frames"][-1], f"{records_path}: record #{index}")
        with Image.open(path) as image:
            view = image.convert("RGB").resize((size, size), Image.BILINEAR)
        pixels.append(np.asarray(view, np.float32).ravel() / 255.0)
        kinds.append(int(parse_action(record["a"]).action.kind))
    return torch.tensor(np.stack(pixels)), torch.tensor(kinds)


def fit(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, epochs: int, seed: int) -> torch.nn.Module:
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, weight_decay=1e-4)
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), 256):
            batch = order[start : start + 256]
            loss = torch.nn.functional.cross_entropy(net(x[batch]), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return net


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--train", type=Path, required=True, help="training NaVILA records")
    parser.add_argument("--train-frames", type=Path, required=True)
    parser.add_argument("--heldout", type=Path, required=True, help="held-out NaVILA records")
    parser.add_argument("--heldout-frames", type=Path, required=True)
    parser.add_argument("--train-records", type=int, default=12000)
    parser.add_argument("--size", type=int, default=24, help="view side in pixels")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    x_train, y_train = load_views(args.train, args.train_frames, args.train_records, args.size, args.seed)
    x_test, y_test = load_views(args.heldout, args.heldout_frames, 10**9, args.size, args.seed)
    mean, std = x_train.mean(0), x_train.std(0) + 1e-3
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    features = x_train.shape[1]
    probes = {
        "linear": torch.nn.Linear(features, 4),
        "mlp": torch.nn.Sequential(torch.nn.Linear(features, 256), torch.nn.ReLU(), torch.nn.Linear(256, 4)),
    }
    print(f"{len(x_train)} training views, {len(x_test)} held-out views, {args.size} px")
    for name, net in probes.items():
        fit(net, x_train, y_train, args.epochs, args.seed)
        with torch.no_grad():
            train_acc = (net(x_train).argmax(1) == y_train).float().mean().item()
            test_acc = (net(x_test).argmax(1) == y_test).float().mean().item()
        print(f"{name:>6}: kind accuracy train {train_acc:.1%}, held-out {test_acc:.1%}")
    floor = np.bincount(y_test.numpy(), minlength=4).max() / len(y_test)
    print(f"held-out majority-kind floor {floor:.1%} (kinds stop/forward/left/right: "
          f"{np.bincount(y_test.numpy(), minlength=4).tolist()})")  # fmt: skip


if __name__ == "__main__":
    main()
