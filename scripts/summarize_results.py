"""Print the headline metrics of one or more ``eval_results.json`` files as a markdown table."""
import json
import os
import sys

KEYS = [("parsing", "mIoU"), ("parsing", "APp50"), ("parsing", "APp_vol"), ("parsing", "PCP50"),
        ("region", "APr50"), ("region", "APr_vol"), ("bbox", "AP")]
LABELS = {("bbox", "AP"): "box AP"}


def main(paths):
    print("| model | " + " | ".join(LABELS.get((g, k), k) for g, k in KEYS) + " |")
    print("|---" * (len(KEYS) + 1) + "|")
    for path in paths:
        with open(path) as f:
            res = json.load(f)
        name = os.path.basename(os.path.dirname(os.path.abspath(path)))
        vals = [res.get(group, {}).get(key) for group, key in KEYS]
        cells = ["-" if v is None else f"{v:.1f}" for v in vals]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
