"""The fast, streaming metrics equal a literal per-pair, per-detection implementation of the
official algorithms (metrics.md §3.2, §4.2) on random scenes, number for number."""

import numpy as np
import pytest

from human_parsing.evaluation.instance import app_image_record, crops_from_full, evaluate_app
from human_parsing.evaluation.region import evaluate_apr, region_image_record
from human_parsing.evaluation.voc import DEFAULT_THRESHOLDS, voc_ap

C = 5


def _scene(rng, H=24, W=20):
    """GT people (some overlapping, some with ignore pixels) and predictions (full maps)."""
    G, D = rng.integers(0, 4), rng.integers(0, 6)
    gt = np.zeros((G, H, W), np.uint8)
    for g in range(G):
        y0, x0 = rng.integers(0, H - 6), rng.integers(0, W - 6)
        gt[g, y0 : y0 + rng.integers(3, 12), x0 : x0 + rng.integers(3, 10)] = rng.integers(
            0, C, (1,)
        )
        gt[g, y0 : y0 + 3, x0 : x0 + 3] = rng.integers(1, C)
        if rng.random() < 0.3:
            gt[g, y0, x0 : x0 + 2] = 255
    pred = np.zeros((D, H, W), np.uint8)
    for d in range(D):
        src = gt[rng.integers(G)] if G and rng.random() < 0.7 else rng.integers(0, C, (H, W))
        src = np.where(src == 255, 1, src).astype(np.uint8)
        noise = rng.random((H, W)) < 0.15
        pred[d] = np.where(noise, rng.integers(0, C, (H, W)), src)
        pred[d, : rng.integers(0, H)] = 0
    scores = np.round(rng.random(D), 1)  # coarse scores: ties happen
    return gt, pred, scores


def _ref_app(scenes, thresholds=DEFAULT_THRESHOLDS, score_thresh=0.001):
    """Per-detection loop over full maps, as written in metrics.md §3.2."""
    conf, img, idx = [], [], []
    for i, (_, pred, scores) in enumerate(scenes):
        for k in range(len(pred)):
            conf.append(scores[k])
            img.append(i)
            idx.append(k)
    conf = np.array(conf, float)
    order = np.argsort(-conf)
    npos = sum(len(s[0]) for s in scenes)
    used = [[np.zeros(len(s[0]), bool) for s in scenes] for _ in thresholds]
    tp = np.zeros((len(thresholds), len(order)))
    fp = np.zeros_like(tp)
    pcp = [[] for _ in thresholds]
    for n, d in enumerate(order):
        if conf[d] < score_thresh:
            continue
        gt, pred = scenes[img[d]][0], scenes[img[d]][1][idx[d]]
        best, jbest, ious = -np.inf, -1, None
        for j, g in enumerate(gt):
            keep = g < C
            h = np.bincount(C * g[keep].astype(int) + pred[keep], minlength=C * C).reshape(C, C)
            with np.errstate(divide="ignore", invalid="ignore"):
                iou = np.diag(h) / (h.sum(1) + h.sum(0) - np.diag(h))
                m = np.nanmean(iou) if not np.all(np.isnan(iou)) else np.nan
            if m > best:
                best, jbest, ious = m, j, iou
        for t, thr in enumerate(thresholds):
            if best > thr and not used[t][img[d]][jbest]:
                tp[t, n] = 1
                used[t][img[d]][jbest] = True
                labels = np.unique(gt[jbest])
                npart = np.sum((labels > 0) & (labels < C))
                pcp[t].append(np.sum(ious[1:] > thr) / npart if npart else 0.0)
            else:
                fp[t, n] = 1
    aps, pcps = [], []
    for t in range(len(thresholds)):
        ctp, cfp = np.cumsum(tp[t]), np.cumsum(fp[t])
        aps.append(voc_ap(ctp / npos, ctp / np.maximum(ctp + cfp, np.finfo(float).eps)))
        pcps.append(np.mean(pcp[t] + [0.0] * (npos - len(pcp[t]))))
    return aps, pcps


@pytest.mark.parametrize("seed", range(6))
def test_app_pcp_equal_reference(seed):
    rng = np.random.default_rng(seed)
    scenes = [_scene(rng) for _ in range(12)]
    if not sum(len(s[0]) for s in scenes):
        pytest.skip("no GT person")
    recs = []
    for gt, pred, scores in scenes:
        crops, offsets = crops_from_full(pred)
        recs.append(app_image_record(gt, crops, offsets, scores, C))
    res = evaluate_app(recs)
    aps, pcps = _ref_app(scenes)
    for t, thr in enumerate(DEFAULT_THRESHOLDS):
        assert res[f"APp@{thr:g}"] == aps[t]  # bit-exact
        assert res[f"PCP@{thr:g}"] == pytest.approx(pcps[t], abs=1e-12)


def _ref_apr(images, thresholds=DEFAULT_THRESHOLDS):
    """metrics.md §4.2, literally: per class, per image, binary masks and max IoU."""
    ap = np.zeros((C - 1, len(thresholds)))
    for c in range(1, C):
        scores, tp, n_gt = [], [[] for _ in thresholds], 0
        for gid, gcls, pid, pcls, psc in images:
            G = [
                gid == i
                for i in sorted(set(np.unique(gid)) & {i for i, k in gcls.items() if k == c})
            ]
            lines = [k + 1 for k in range(len(pcls)) if pcls[k] == c]
            P = [pid == i for i in lines if (pid == i).any()]
            n_gt += len(G)
            if not P:
                continue
            # The script takes every listed line's score; equal whenever each line has pixels
            # (we drop pixel-less lines instead of mis-pairing scores, see region.py).
            scores += [psc[i - 1] for i in lines if (pid == i).any()]
            for p in P:
                best = max(
                    ((p & g).sum() / (p.sum() + g.sum() - (p & g).sum()) for g in G), default=-1
                )
                for t, thr in enumerate(thresholds):
                    tp[t].append(best > thr)
        order = np.argsort(np.array(scores, float))[::-1]
        for t in range(len(thresholds)):
            m = np.array(tp[t], float)[order]
            ctp, cfp = np.cumsum(m), np.cumsum(1 - m)
            with np.errstate(divide="ignore", invalid="ignore"):
                ap[c - 1, t] = voc_ap(ctp / n_gt, ctp / np.maximum(ctp + cfp, np.finfo(float).eps))
    return ap.mean(0)


@pytest.mark.parametrize("seed", range(6))
def test_apr_equals_reference(seed):
    rng = np.random.default_rng(100 + seed)
    images, recs = [], []
    for _ in range(10):
        H, W = 16, 18
        gid = rng.integers(0, 7, (H, W)) * (rng.random((H, W)) < 0.6)
        gcls = {i: int(rng.integers(1, C)) for i in range(1, 7)}
        pid = np.where(rng.random((H, W)) < 0.8, gid, rng.integers(0, 9, (H, W)))
        pid = np.where(rng.random((H, W)) < 0.1, 0, pid)
        K = int(pid.max())
        pcls = [
            gcls.get(k, int(rng.integers(1, C))) if rng.random() < 0.8 else int(rng.integers(1, C))
            for k in range(1, K + 1)
        ]
        psc = list(rng.random(K))
        images.append((gid, gcls, pid, pcls, psc))
        lut = np.array([0] + [gcls[i] for i in range(1, 7)])
        recs.append(region_image_record([(gid, lut)], pid, pcls, psc, C))
    np.testing.assert_array_equal(
        [evaluate_apr(recs, C)[f"APr@{t:g}"] for t in DEFAULT_THRESHOLDS], _ref_apr(images)
    )
