"""Human parsing on Detectron2: Parsing R-CNN, PGN, Grapy-ML, CorrPM and SST.

Detectron2 is deliberately not an install requirement: users on GPU machines usually have it built
from source, and ``scripts/install.sh`` installs a pure-Python copy only when ``import detectron2`` fails.
"""
from setuptools import find_packages, setup

setup(
    name="human_parsing",
    version="0.1.0",
    description="Human parsing toolkit on Detectron2",
    packages=find_packages(include=["human_parsing*", "parsing_rcnn*", "pgn*"])
    + ["grapy_ml", "corrpm", "sst"]
    + ["corrpm." + p for p in find_packages("projects/CorrPM/corrpm")],
    package_dir={
        "grapy_ml": "projects/GrapyML/grapy_ml",
        "corrpm": "projects/CorrPM/corrpm",
        "sst": "projects/SST/sst",
    },
    package_data={"human_parsing.data": ["priors/*.json"], "sst": ["priors/*.json"]},
    python_requires=">=3.8",
    install_requires=["numpy", "opencv-python-headless", "pycocotools", "scipy", "scikit-image", "tqdm"],
)
