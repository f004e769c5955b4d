#!/usr/bin/env python
"""mIoU / pixel accuracy of predicting background everywhere on registered datasets: the floor
the quick schedules are compared with (projects/GrapyML/README.md).

    python projects/GrapyML/tools/all_background.py synthetic_cihp_val synthetic_atr_val ...
"""
import argparse

import numpy as np
from detectron2.data import DatasetCatalog, MetadataCatalog

import human_parsing.data  # noqa: F401  (registers the datasets)
from human_parsing.data.io import read_label_map
from human_parsing.data.label_spaces import get_label_space
from human_parsing.evaluation.semantic import confusion_matrix, semantic_metrics


def all_background(dataset: str, averaging: str = "official") -> dict:
    k = get_label_space(MetadataCatalog.get(dataset).label_space).num_classes
    hist = np.zeros((k, k), np.int64)
    for r in DatasetCatalog.get(dataset):
        gt = read_label_map(r["sem_seg_file_name"])
        hist += confusion_matrix(gt, np.zeros_like(gt), k)
    return semantic_metrics(hist, averaging)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("datasets", nargs="+")
    ap.add_argument("--averaging", default="official")
    a = ap.parse_args()
    for name in a.datasets:
        m = all_background(name, a.averaging)
        print(f"{name}: mIoU {100 * m['mIoU']:.1f}, pixAcc {100 * m['pixAcc']:.1f}")
