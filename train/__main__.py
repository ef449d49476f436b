"""`python -m navagent.train CONFIG.yaml [--section.key value ...]` — the same as `navagent train`, in a form
that launchers such as `torchrun -m navagent.train` and `deepspeed --module navagent.train` can start."""

from __future__ import annotations

import sys

from navagent.train.run import train_from_config


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        raise SystemExit(0 if argv else 2)
    print(f"final model: {train_from_config(argv[0], argv[1:])}")


if __name__ == "__main__":
    main()
