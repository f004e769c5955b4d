#!/usr/bin/env python
"""Check ``tools/pgn_partition.py --mode faithful`` against the official MATLAB tool on random inputs.

Writes ``--num`` random inputs in the folder layout of the official ``test_pgn.py`` output
(``cihp_parsing_maps/<id>.png|.mat``, ``cihp_edge_maps/<id>.png``, ``list/val_id.txt``), runs
the official ``instance_tool`` under GNU Octave through the shared harness
``run_official.py`` (``$PGN_OFFICIAL_TOOL_DIR``, default ``../shared/tools/pgn_official_partition``
next to the repository; it needs ``octave-cli`` with the ``image`` package and a git clone of
CIHP_PGN in ``$CIHP_PGN_REPO``), runs the port, and compares both folders with the harness's
``compare_outputs.py`` (PNG ids pixel for pixel, txt lines; part scores to single precision).

    python tools/dev/pgn_partition_oracle.py --out /tmp/pgn_oracle --num 300 --seed 0 --jobs 2

Inputs are drawn per id from ``numpy.random.default_rng([seed, index])``, so any id can be
regenerated alone (``--first``/``--num``). Each image (30-512 px per side, log-uniform) is one of:
  - ``scene``: the synthetic CIHP scenes of ``human_parsing.data.synthetic`` (1-6 people that
    touch, overlap and are cut by the frame), person scale 1-2.5;
  - ``blocks``: rectangles and ellipses of 1-3 classes, most of them touching one or more frame
    sides, overlapping one another;
  - ``full``: no background at all (every pixel labelled), a few large class bands;
  - ``speckle``: only scattered 1-4 px fragments of random classes;
  - ``crowd``: a grid of 300-500 tiny two-class blobs too far apart to merge, so that person
    and part ids pass 255 (MATLAB's ``uint8`` PNGs saturate them).
Edge maps: the instance outlines (frame pixels included where a person touches the frame),
thickened 0-2 px and with holes, random straight lines ending on the frame, 1-3 px bands along
random frame sides, isolated edge speckles, values right at the 0.2 threshold (PNG 50/51/52) and
low background noise; 12% of the images have no edge pixel at all. Random parsing speckles (also
on the frame) are added to most images. The max-logit map is float32 noise.
"""

import argparse
import os
import shutil
import subprocess
import sys
import time
from typing import Tuple

import cv2
import numpy as np
from scipy import ndimage

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)

from human_parsing.data.io import write_label_png, write_text  # noqa: E402
from pgn.partition.io import EDGE_DIR, ID_LIST, PARSING_DIR  # noqa: E402

KINDS = ("scene", "blocks", "full", "speckle", "crowd")
KIND_P = (0.52, 0.27, 0.06, 0.11, 0.04)
SIZE_RANGE = (30, 512)
NO_EDGE_P = 0.12
NUM_CLASSES = 20  # CIHP: 0 = background, 1..19 parts


def official_tool_dir() -> str:
    """``$PGN_OFFICIAL_TOOL_DIR``, else ``../shared/tools/pgn_official_partition`` next to the repo."""
    return os.environ.get(
        "PGN_OFFICIAL_TOOL_DIR",
        os.path.join(os.path.dirname(REPO), "shared", "tools", "pgn_official_partition"),
    )


# ------------------------------------------------------------------------------------ generation
def _random_size(rng, max_size: int) -> Tuple[int, int]:
    lo, hi = np.log(SIZE_RANGE[0]), np.log(min(SIZE_RANGE[1], max_size))
    return tuple(int(round(np.exp(rng.uniform(lo, hi)))) for _ in range(2))


def _scene(rng, h, w, seed, index):
    from human_parsing.data.synthetic import generate_scene

    scene = generate_scene(seed, index, size=(w, h), person_scale=float(rng.uniform(1.0, 2.5)))
    return scene.labels("cihp"), scene.human_ids.astype(np.int32)


def _blocks(rng, h, w):
    """Overlapping rectangles/ellipses of 1-3 horizontal class bands; most touch the frame."""
    parsing, inst = np.zeros((h, w), np.uint8), np.zeros((h, w), np.int32)
    rr, cc = np.mgrid[0:h, 0:w]
    for k in range(1, int(rng.integers(1, 6)) + 1):
        bh, bw = int(rng.integers(4, max(5, int(h * 0.8)))), int(rng.integers(3, max(4, int(w * 0.6))))
        r0, c0 = int(rng.integers(-bh // 3, h - bh // 2)), int(rng.integers(-bw // 3, w - bw // 2))
        if rng.random() < 0.6:  # pin to one or two frame sides
            side = int(rng.integers(4))
            r0 = 0 if side == 0 else (h - bh if side == 2 else r0)
            c0 = 0 if side == 1 else (w - bw if side == 3 else c0)
        y, x = (rr - r0) / bh, (cc - c0) / bw
        m = (y >= 0) & (y < 1) & (x >= 0) & (x < 1)
        if rng.random() < 0.4:
            m = (y - 0.5) ** 2 + (x - 0.5) ** 2 <= 0.25
        bands = np.sort(rng.uniform(0, 1, int(rng.integers(0, 3))))
        cls = rng.integers(1, NUM_CLASSES, bands.size + 1)
        lab = cls[np.searchsorted(bands, np.clip(y, 0, 1))].astype(np.uint8)
        parsing[m], inst[m] = lab[m], k
    return parsing, inst


def _full(rng, h, w):
    """Every pixel labelled: class bands, vertical or horizontal; no background pixel."""
    n = int(rng.integers(1, 5))
    cuts = np.sort(rng.integers(1, max(2, h), n - 1))
    cls = rng.integers(1, NUM_CLASSES, n).astype(np.uint8)
    parsing = np.repeat(cls[np.searchsorted(cuts, np.arange(h), side="right")][:, None], w, axis=1)
    if rng.random() < 0.5 and h == w:
        parsing = np.ascontiguousarray(parsing.T)
    return parsing, np.ones((h, w), np.int32)


def _crowd(rng, h, w):
    """About 300-500 blobs of 2×2 (two classes) on a grid of period 5 in a random window: too far
    apart to merge, every blob stays its own person."""
    parsing, inst = np.zeros((h, w), np.uint8), np.zeros((h, w), np.int32)
    area = 25 * int(rng.integers(300, 500))
    wh = min(h, max(5, int(np.sqrt(area * h / w))))
    ww = min(w, max(5, area // wh))
    r0, c0 = int(rng.integers(0, h - wh + 1)), int(rng.integers(0, w - ww + 1))
    cells = [(r, c) for r in range(r0, r0 + wh - 1, 5) for c in range(c0, c0 + ww - 1, 5)]
    for k, (r, c) in enumerate(cells):
        parsing[r, c : c + 2] = rng.integers(1, NUM_CLASSES)
        parsing[r + 1, c : c + 2] = rng.integers(1, NUM_CLASSES)
        inst[r : r + 2, c : c + 2] = k + 1
    return parsing, inst


def _speckle_labels(rng, parsing, count, frame_bias):
    h, w = parsing.shape
    for _ in range(count):
        sh, sw = int(rng.integers(1, 5)), int(rng.integers(1, 5))
        r, c = int(rng.integers(0, h)), int(rng.integers(0, w))
        if rng.random() < frame_bias:
            side = int(rng.integers(4))
            r = 0 if side == 0 else (h - sh if side == 2 else r)
            c = 0 if side == 1 else (w - sw if side == 3 else c)
        parsing[max(r, 0) : r + sh, max(c, 0) : c + sw] = rng.integers(1, NUM_CLASSES)


def _edges(rng, parsing, inst):
    """Edge probability (H, W) float64 in [0, 1] for one image."""
    h, w = parsing.shape
    edge = np.zeros((h, w))
    if rng.random() < NO_EDGE_P:
        if rng.random() < 0.5:  # only sub-threshold noise (PNG values <= 50)
            edge = rng.uniform(0, 50.4 / 255, (h, w)) * (rng.random((h, w)) < 0.3)
        return edge
    outline = np.zeros((h, w), bool)
    for k in np.unique(inst[inst > 0]):
        m = inst == k
        outline |= m & ~ndimage.binary_erosion(m, border_value=0)  # frame pixels of m are outline
    if rng.random() < 0.5:  # part boundaries too
        grad = ndimage.sobel(parsing.astype(float), 0) ** 2 + ndimage.sobel(parsing.astype(float), 1) ** 2
        outline |= (grad > 0) & (rng.random((h, w)) < rng.uniform(0.0, 0.5))
    for _ in range(int(rng.integers(0, 3))):
        outline = ndimage.binary_dilation(outline)
    outline &= rng.random((h, w)) > rng.uniform(0.0, 0.25)  # holes
    line = np.zeros((h, w), np.uint8)
    for _ in range(int(rng.integers(0, 4))):  # straight lines ending on the frame
        p = [
            (int(rng.integers(0, w)), 0),
            (0, int(rng.integers(0, h))),
            (int(rng.integers(0, w)), h - 1),
            (w - 1, int(rng.integers(0, h))),
        ]
        a, b = rng.choice(4, 2, replace=False)
        cv2.line(line, p[a], p[b], 1, int(rng.integers(1, 4)))
    band = np.zeros((h, w), bool)
    for side in np.flatnonzero(rng.random(4) < 0.3):  # bands along frame sides, 1-3 px thick
        t = int(rng.integers(1, 4))
        lo = int(rng.integers(0, max(1, (h if side % 2 else w) // 2)))
        hi = lo + int(rng.integers(1, h if side % 2 else w))
        sl = {0: np.s_[:t, lo:hi], 1: np.s_[lo:hi, :t], 2: np.s_[h - t :, lo:hi], 3: np.s_[lo:hi, w - t :]}[
            side
        ]
        band[sl] = True
    strong = outline | (line > 0) | band
    edge[strong] = rng.uniform(0.2, 1.0, int(strong.sum()))
    speck = rng.random((h, w)) < rng.uniform(0, 0.01)
    edge[speck] = rng.uniform(0.3, 1.0, int(speck.sum()))
    near = rng.random((h, w)) < 0.01  # right at the threshold: 50/255 < 0.2 <= 51/255
    edge[near] = rng.choice([50, 51, 52], int(near.sum())) / 255.0
    noise = rng.beta(0.5, 30.0, (h, w))
    return np.maximum(edge, np.where(noise < 0.19, noise, 0.0))


def make_input(seed: int, index: int, max_size: int = SIZE_RANGE[1]):
    """(kind, parsing uint8, edge PNG uint8, max-logit float32) of input ``index`` of stream ``seed``.

    ``max_size`` lowers the upper end of the side lengths (quick runs).
    """
    rng = np.random.default_rng([int(seed), int(index)])
    h, w = _random_size(rng, max_size)
    kind = KINDS[int(rng.choice(len(KINDS), p=KIND_P))]
    if kind == "scene":
        parsing, inst = _scene(rng, h, w, seed, index)
    elif kind == "blocks":
        parsing, inst = _blocks(rng, h, w)
    elif kind == "full":
        parsing, inst = _full(rng, h, w)
    elif kind == "crowd":
        parsing, inst = _crowd(rng, h, w)
    else:
        parsing, inst = np.zeros((h, w), np.uint8), np.zeros((h, w), np.int32)
    parsing = np.ascontiguousarray(parsing, dtype=np.uint8)
    n_speckle = int(rng.integers(0, 4 + h * w // 800)) if kind != "speckle" else int(rng.integers(1, 60))
    if rng.random() < 0.8 or kind == "speckle":
        _speckle_labels(rng, parsing, n_speckle, frame_bias=0.3)
    edge = np.round(_edges(rng, parsing, inst) * 255).astype(np.uint8)
    score = rng.normal(4.0, 2.0, (h, w)).astype(np.float32)
    return kind, parsing, edge, score


def write_inputs(root: str, seed: int, first: int, num: int, max_size: int = SIZE_RANGE[1]) -> dict:
    """Write inputs ``first .. first+num-1`` of stream ``seed`` under ``root``; returns {id: kind}."""
    import scipy.io

    kinds = {}
    for index in range(first, first + num):
        kind, parsing, edge, score = make_input(seed, index, max_size)
        img_id = f"s{seed}_{index:05d}_{kind}"
        write_label_png(os.path.join(root, PARSING_DIR, img_id + ".png"), parsing)
        write_label_png(os.path.join(root, EDGE_DIR, img_id + ".png"), edge)
        scipy.io.savemat(os.path.join(root, PARSING_DIR, img_id + ".mat"), {"data": score})
        kinds[img_id] = kind
    write_text(os.path.join(root, ID_LIST), "".join(i + "\n" for i in kinds))
    return kinds


# ------------------------------------------------------------------------------------------- run
def run(
    out: str,
    seed: int = 0,
    first: int = 0,
    num: int = 300,
    jobs: int = 2,
    tool_dir: str = "",
    mirror: str = "",
    max_size: int = SIZE_RANGE[1],
    skip_official: bool = False,
) -> dict:
    """Generate, run the official tool and the port, compare.

    Returns {"total": images compared, "differ": compare_outputs.py lines of differing images,
    "summary": its last line}. Raises RuntimeError when a tool fails.
    """
    tool_dir = tool_dir or official_tool_dir()
    inp, ref, port = (os.path.join(out, d) for d in ("inputs", "official", "port"))
    if not skip_official:
        for d in (inp, ref):
            shutil.rmtree(d, ignore_errors=True)
        t0 = time.perf_counter()
        kinds = write_inputs(inp, seed, first, num, max_size)
        counts = {k: list(kinds.values()).count(k) for k in KINDS}
        print(f"{len(kinds)} inputs in {inp} ({time.perf_counter() - t0:.1f} s): {counts}", flush=True)
        cmd = [sys.executable, os.path.join(tool_dir, "run_official.py"), inp, ref, "--jobs", str(jobs)]
        if mirror:
            cmd += ["--mirror", mirror]
        proc = subprocess.run(cmd, stderr=subprocess.PIPE, text=True)  # its progress lines go to stdout
        if proc.returncode != 0:
            raise RuntimeError(f"official tool failed: {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    shutil.rmtree(port, ignore_errors=True)
    t1 = time.perf_counter()
    cmd = [
        sys.executable,
        os.path.join(REPO, "tools", "pgn_partition.py"),
        "--input",
        inp,
        "--output",
        port,
        "--mode",
        "faithful",
        "--jobs",
        "1",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"port failed: {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    print(f"port: {time.perf_counter() - t1:.1f} s", flush=True)
    res = subprocess.run(
        [sys.executable, os.path.join(tool_dir, "compare_outputs.py"), ref, port],
        capture_output=True,
        text=True,
    )
    lines = res.stdout.splitlines()
    if not lines or "images identical" not in lines[-1]:
        raise RuntimeError(f"compare_outputs.py failed:\n{res.stdout[-2000:]}{res.stderr[-2000:]}")
    total = len([l for l in lines[:-1] if l.strip()])
    return {"total": total, "differ": [l.strip() for l in lines if "DIFF" in l], "summary": lines[-1]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="work folder: inputs/, official/, port/")
    p.add_argument("--num", type=int, default=300)
    p.add_argument("--first", type=int, default=0, help="index of the first input of the stream")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-size", type=int, default=SIZE_RANGE[1], help="largest side length (default 512)")
    p.add_argument("--jobs", type=int, default=2, help="parallel Octave processes")
    p.add_argument(
        "--tool-dir", default=official_tool_dir(), help="run_official.py / compare_outputs.py folder"
    )
    p.add_argument(
        "--mirror", default=os.environ.get("CIHP_PGN_REPO", ""), help="CIHP_PGN git dir or checkout"
    )
    p.add_argument(
        "--skip-official", action="store_true", help="reuse OUT/inputs and OUT/official; rerun the port"
    )
    args = p.parse_args(argv)
    for f in ("run_official.py", "compare_outputs.py"):
        if not os.path.isfile(os.path.join(args.tool_dir, f)):
            print(
                f"error: {os.path.join(args.tool_dir, f)} not found (set PGN_OFFICIAL_TOOL_DIR)",
                file=sys.stderr,
            )
            return 2
    if not args.skip_official and not args.mirror:
        print(
            "error: set CIHP_PGN_REPO (or --mirror) to a clone of Engineering-Course/CIHP_PGN",
            file=sys.stderr,
        )
        return 2
    try:
        res = run(
            args.out,
            args.seed,
            args.first,
            args.num,
            args.jobs,
            args.tool_dir,
            args.mirror,
            args.max_size,
            args.skip_official,
        )
    except RuntimeError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print("\n".join(res["differ"] + [res["summary"]]))
    return 1 if res["differ"] else 0


if __name__ == "__main__":
    sys.exit(main())
