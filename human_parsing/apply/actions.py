"""The ``dump`` and ``show`` actions of ``apply_net.py``, registered by command name (like
DensePose's ``apply_net.py``), and the inference loop they share.

Each action turns the sorted input sources into a context (its writer), lists the outputs it
would create (existing ones are refused unless ``--overwrite``), then handles one
:class:`ParsingResult` per image or video frame. The loop shows a tqdm bar, skips unreadable
images with a warning, and ends with a summary line (images/s, where the outputs went).
"""
import argparse
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Type

from tqdm import tqdm

from human_parsing.data.io import write_image

from .formats import DUMP_FORMATS, PickleDumpWriter, PngDumpWriter
from .inputs import IMAGE_EXTENSIONS, Frame, InputSource, count_frames, iter_frames, list_inputs
from .render import build_renderer, render
from .result import ParsingResult
from .video import VideoReader, VideoWriter

__all__ = ["ACTIONS", "register_action", "InferenceAction", "DumpAction", "ShowAction", "RunSummary"]

logger = logging.getLogger(__name__)

ACTIONS: Dict[str, Type["InferenceAction"]] = {}


def register_action(cls: Type["InferenceAction"]) -> Type["InferenceAction"]:
    """Register an action class under its ``COMMAND``."""
    ACTIONS[cls.COMMAND] = cls
    return cls


@dataclass
class RunSummary:
    """What a run did: images processed, unreadable ones skipped, time, where outputs went."""

    processed: int = 0
    skipped: List[str] = field(default_factory=list)
    seconds: float = 0.0
    output: str = ""

    def __str__(self) -> str:
        ips = self.processed / self.seconds if self.seconds > 0 else 0.0
        skipped = f", {len(self.skipped)} unreadable skipped" if self.skipped else ""
        return (f"Processed {self.processed} images{skipped} in {self.seconds:.1f} s "
                f"({ips:.2f} images/s); outputs in {self.output}")


class InferenceAction:
    """Base action: run the predictor on every frame of INPUT and hand each result to
    :meth:`handle` (subclasses also implement :meth:`create_context`)."""

    COMMAND = ""
    DEFAULT_OUTPUT = ""

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("cfg", metavar="<config>", help="config file (yaml)")
        parser.add_argument("model", metavar="<model>", help="model weights (.pth/.pkl)")
        parser.add_argument("input", metavar="<input>",
                            help="image file, video file, folder (walked in sorted order) or quoted glob")
        parser.add_argument("--output", default=cls.DEFAULT_OUTPUT,
                            help=f"output folder or file (default: {cls.DEFAULT_OUTPUT})")
        parser.add_argument("--min_score", "--min-score", type=float, default=0.5,
                            help="keep people with at least this score (default: 0.5)")
        parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
        parser.add_argument("--no-progress", dest="no_progress", action="store_true",
                            help="no progress bar")
        parser.add_argument("-v", "--verbosity", action="count", default=0,
                            help="-v: INFO logs of every library, -vv: DEBUG")
        parser.add_argument("--domain", default="",
                            help="label space (head) of a multi-domain semantic model, e.g. "
                                 "pascal_person_part; same as --opts MODEL.SEMANTIC.TEST_DOMAIN NAME")
        parser.add_argument("--opts", default=[], nargs=argparse.REMAINDER,
                            help="config overrides as KEY VALUE pairs, e.g. MODEL.DEVICE cuda")

    @classmethod
    def create_context(cls, args: argparse.Namespace, sources: List[InputSource], cfg):
        """The per-run state: ``planned_outputs(source)``, ``handle(frame, result)``,
        ``close(ok)`` and ``output`` (for the summary)."""
        raise NotImplementedError

    @classmethod
    def execute(cls, args: argparse.Namespace, cfg, predictor=None) -> RunSummary:
        """Check inputs and outputs, build the predictor (unless given), run it on every frame."""
        from human_parsing.predictor import ParsingPredictor

        sources = list_inputs(args.input)
        total = count_frames(sources)  # also opens every video: undecodable ones fail here
        ctx = cls.create_context(args, sources, cfg)
        if not args.overwrite:
            existing = [p for s in sources for p in ctx.planned_outputs(s) if os.path.exists(p)]
            if existing:
                raise FileExistsError(
                    f"{len(existing)} output(s) already exist, e.g. {existing[:3]}; "
                    "pass --overwrite to replace them"
                )
        if predictor is None:
            predictor = ParsingPredictor(cfg)
        summary = RunSummary(output=ctx.output)
        start = time.perf_counter()
        ok = False
        try:
            for frame in tqdm(iter_frames(sources), total=total or None, unit="img",
                              desc=f"apply_net {cls.COMMAND}", disable=args.no_progress):
                if frame.image is None:
                    logger.warning("Skipping unreadable image %s", frame.error)
                    summary.skipped.append(frame.source.path)
                    continue
                result = predictor(frame.image).filter(args.min_score)
                result.file_name, result.frame = frame.source.path, frame.frame
                ctx.handle(frame, result)
                summary.processed += 1
            ok = True
        finally:
            ctx.close(ok)
        summary.seconds = time.perf_counter() - start
        return summary


class _DumpContext:
    def __init__(self, writer):
        self.writer = writer
        self.output = writer.output

    def planned_outputs(self, source: InputSource) -> List[str]:
        return self.writer.planned_outputs(source)

    def handle(self, frame: Frame, result: ParsingResult) -> None:
        self.writer.write(result, frame.source, frame.frame)

    def close(self, ok: bool) -> None:
        if isinstance(self.writer, PickleDumpWriter):
            self.writer.close(ok)
        else:
            self.writer.close()


@register_action
class DumpAction(InferenceAction):
    """Write the results in open formats (see :mod:`human_parsing.apply.formats`)."""

    COMMAND = "dump"
    DEFAULT_OUTPUT = "apply_net_dump"

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--format", choices=DUMP_FORMATS, default=None,
                            help="png: palette/person-id PNGs + json per image (default); "
                                 "pickle: one file (default when --output ends with .pkl)")

    @classmethod
    def create_context(cls, args, sources, cfg):
        fmt = args.format or ("pickle" if args.output.endswith(".pkl") else "png")
        if fmt == "pickle":
            path = args.output if args.output.endswith(".pkl") else os.path.join(args.output, "results.pkl")
            return _DumpContext(PickleDumpWriter(path))
        if os.path.splitext(args.output)[1].lower() in (".json", ".png", ".pkl"):
            raise ValueError(f"--output {args.output}: the png format writes a folder, not a file")
        return _DumpContext(PngDumpWriter(args.output))


class _ShowContext:
    def __init__(self, args, sources: List[InputSource], label_space):
        self.renderer = build_renderer(args.vis, label_space, args.display_size)
        out = args.output
        ext = os.path.splitext(out)[1].lower()
        self.single_file = len(sources) == 1 and ext != ""
        if self.single_file and sources[0].kind == "image" and ext not in IMAGE_EXTENSIONS:
            raise ValueError(f"--output {out}: an image input needs an image file name or a folder")
        if self.single_file and sources[0].kind == "video" and ext not in (".mp4", ".avi"):
            raise ValueError(f"--output {out}: a video input needs a .mp4/.avi file name or a folder")
        self.out = out
        self.output = out
        self._video: Optional[VideoWriter] = None
        self._video_src: Optional[InputSource] = None

    def target(self, source: InputSource) -> str:
        if self.single_file:
            return self.out
        if source.kind == "video":
            ext = os.path.splitext(source.path)[1].lower()
            return os.path.join(self.out, f"{source.name}_show{ext if ext in ('.mp4', '.avi') else '.mp4'}")
        return os.path.join(self.out, f"{source.name}_show.png")

    def planned_outputs(self, source: InputSource) -> List[str]:
        return [self.target(source)]

    def handle(self, frame: Frame, result: ParsingResult) -> None:
        vis = render(frame.image, result, self.renderer)
        if frame.source.kind == "image":
            write_image(self.target(frame.source), vis, format="BGR")
            return
        if self._video_src is not frame.source:
            self._finish_video()
            self._video = VideoWriter(self.target(frame.source), VideoReader(frame.source.path).fps)
            self._video_src = frame.source
        self._video.write(vis)

    def _finish_video(self, ok: bool = True) -> None:
        if self._video is not None:
            self._video.__exit__(None if ok else RuntimeError, None, None)
        self._video, self._video_src = None, None

    def close(self, ok: bool) -> None:
        self._finish_video(ok)


@register_action
class ShowAction(InferenceAction):
    """Render overlays (images as PNG, videos as video at the input frame rate)."""

    COMMAND = "show"
    DEFAULT_OUTPUT = "apply_net_show"

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("--vis", default="parsing,instances",
                            help="comma-separated visualizers: parsing,instances,bbox,edges "
                                 "(default: parsing,instances), or panel (input | parts | people)")
        parser.add_argument("--display-size", dest="display_size", type=int, default=512,
                            help="upscale inputs whose long side is smaller to at least this many "
                                 "pixels (integer factor; 0: input size); default 512")

    @classmethod
    def create_context(cls, args, sources, cfg):
        from human_parsing.predictor import resolve_label_space

        return _ShowContext(args, sources, resolve_label_space(cfg))
