"""Plot a model's learning curves (losses, val metrics over iterations) from its metrics.json.

Usage: python scripts/plot_training.py OUTPUT_DIR/metrics.json OUT.png [--title NAME]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from human_parsing.vis.curves import plot_training_curves  # noqa: E402


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("metrics", help="Detectron2 metrics.json")
    p.add_argument("out", help="PNG to write")
    p.add_argument("--title", default="")
    args = p.parse_args(argv)
    print(plot_training_curves(args.metrics, args.out, args.title))


if __name__ == "__main__":
    main()
