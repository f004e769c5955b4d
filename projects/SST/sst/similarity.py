"""Build M_static for any two label spaces from label-name embeddings (methods.md §6.6), so that
new datasets (MHP v2, LIP, ...) can join SST. The stored PASCAL/ATR/CIHP matrices come from
Graphonomy; this reproduces the recipe: embed each class name, cosine similarity of every pair.

Embeddings come from a word-vector text file (GloVe/word2vec text format: ``word v1 v2 ...``;
a multi-word name such as "left-arm" or "cap/hat" is the mean of its words' vectors) or from a
sentence-transformers model (an optional dependency the user installs).
"""
import json
import re
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np

from human_parsing.data.label_spaces import get_label_space

from .priors import similarity_path

__all__ = ["name_words", "load_word_vectors", "word_vector_embedder", "similarity_matrix", "similarity_document"]


def name_words(name: str) -> List[str]:
    """Words of a class name: "upper-clothes" -> ["upper", "clothes"], "cap/hat" -> ["cap", "hat"]."""
    return [w for w in re.split(r"[-_/\s]+", name.lower()) if w]


def load_word_vectors(path: str, vocabulary: Optional[Sequence[str]] = None) -> Dict[str, np.ndarray]:
    """Word vectors of a text file (one ``word v1 ... vD`` per line), only ``vocabulary`` if given."""
    keep = set(vocabulary) if vocabulary is not None else None
    vectors = {}
    with open(path, encoding="utf8") as f:
        for n, line in enumerate(f, 1):
            parts = line.rstrip().split(" ")
            if len(parts) < 3 and n == 1:
                continue  # word2vec header "count dim"
            if keep is None or parts[0] in keep:
                vectors[parts[0]] = np.asarray(parts[1:], dtype=np.float64)
    return vectors


def word_vector_embedder(vectors: Dict[str, np.ndarray], source: str = "word vectors") -> Callable[[str], np.ndarray]:
    def embed(name: str) -> np.ndarray:
        words = name_words(name)
        missing = [w for w in words if w not in vectors]
        if missing:
            raise KeyError(f"{source}: no vector for {missing} (class name {name!r})")
        return np.mean([vectors[w] for w in words], axis=0)

    return embed


def similarity_matrix(rows: str, cols: str, embed: Callable[[str], np.ndarray]) -> np.ndarray:
    """(Z_rows, Z_cols) cosine similarities of the class-name embeddings of two label spaces."""
    a = np.stack([embed(n) for n in get_label_space(rows).classes])
    b = np.stack([embed(n) for n in get_label_space(cols).classes])
    a = a / np.linalg.norm(a, axis=1, keepdims=True).clip(1e-12)
    b = b / np.linalg.norm(b, axis=1, keepdims=True).clip(1e-12)
    return a @ b.T


def similarity_document(rows: str, cols: str, values: np.ndarray, provenance: dict) -> dict:
    """The JSON document :func:`sst.priors.load_similarity` reads."""
    return {
        "kind": "label_similarity",
        "rows": rows,
        "cols": cols,
        "row_classes": list(get_label_space(rows).classes),
        "col_classes": list(get_label_space(cols).classes),
        "values": [[round(float(x), 8) for x in row] for row in values],
        "provenance": provenance,
    }


def main(argv=None):
    import argparse

    p = argparse.ArgumentParser(description="Write <a>__<b>_similarity.json for two label spaces.")
    p.add_argument("rows", help="label-space name (e.g. mhp_v2)")
    p.add_argument("cols", help="label-space name (e.g. cihp)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--word-vectors", help="word-vector text file (GloVe / word2vec text format)")
    src.add_argument("--sentence-transformer", help="a sentence-transformers model name (pip install sentence-transformers)")
    p.add_argument("--out-dir", default=None, help="default: the package's sst/priors")
    args = p.parse_args(argv)
    if args.word_vectors:
        words = {w for n in get_label_space(args.rows).classes + get_label_space(args.cols).classes for w in name_words(n)}
        embed = word_vector_embedder(load_word_vectors(args.word_vectors, words), args.word_vectors)
        prov = {"method": "mean word vector per class name, cosine similarity", "word_vectors": args.word_vectors}
    else:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise SystemExit("--sentence-transformer needs the optional package: pip install sentence-transformers")
        model = SentenceTransformer(args.sentence_transformer)
        embed = lambda name: model.encode(name.replace("-", " ").replace("/", " or "))  # noqa: E731
        prov = {"method": "sentence embedding per class name, cosine similarity", "model": args.sentence_transformer}
    values = similarity_matrix(args.rows, args.cols, embed)
    path = similarity_path(args.rows, args.cols, args.out_dir)
    with open(path, "w") as f:
        json.dump(similarity_document(args.rows, args.cols, values, prov), f, indent=1)
    print(f"{path}: {values.shape[0]} x {values.shape[1]} ({args.rows} rows, {args.cols} columns)")


if __name__ == "__main__":
    main()
