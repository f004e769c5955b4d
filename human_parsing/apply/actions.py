"""The ``dump`` and ``show`` actions of ``apply_net.py``, registered by command name (like
DensePose's ``apply_net.py``), and the inference loop they share.

Each action turns the sorted input sources into a context (its writer), lists the outputs it
would create (existing ones are refused unless ``--overwrite``; ``--skip-existing`` instead skips
every image or frame whose outputs are all complete, to continue an interrupted run), then
handles one :class:`ParsingResult` per image or video frame. The loop shows a tqdm bar (and an
elapsed-time line for an image that takes more than a few seconds; both only on a terminal),
skips unreadable images and non-image files with a warning, and ends with a summary line
(images/s, what was skipped, where the outputs went). A run that could process no input fails.

Every file is written to a temporary ``.tmp-apply_net-<pid>-*`` name in its final folder and then
renamed; the ones a killed run left in the output folder are removed at the next run.
"""
import argparse
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Type

from tqdm import tqdm

from human_parsing.data.io import DataFormatError, remove_stale_temporaries, temporary_file_tag, write_image
from human_parsing.utils.cli import add_debug_argument

from .formats import DUMP_FORMATS, PickleDumpWriter, PngDumpWriter
from .inputs import IMAGE_EXTENSIONS, Frame, InputSource, count_frames, iter_frames, scan_inputs
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


def _names(paths: List[str], n: int = 5) -> str:
    shown = ", ".join(os.path.basename(p) for p in paths[:n])
    return shown + (", ..." if len(paths) > n else "")


@dataclass
class RunSummary:
    """What a run did: images processed, unreadable ones skipped, other files of the input folder
    ignored (``ignored``), images/frames already complete (``existing``, with --skip-existing),
    time, where outputs went."""

    processed: int = 0
    skipped: List[str] = field(default_factory=list)
    seconds: float = 0.0
    output: str = ""
    ignored: List[str] = field(default_factory=list)
    existing: int = 0

    def __str__(self) -> str:
        ips = self.processed / self.seconds if self.seconds > 0 else 0.0
        notes = ""
        if self.skipped:
            notes += f", {len(self.skipped)} unreadable skipped ({_names(self.skipped)})"
        if self.ignored:
            notes += f", {len(self.ignored)} non-image files skipped ({_names(self.ignored)})"
        if self.existing:
            notes += f", {self.existing} already complete (--skip-existing)"
        return (f"Processed {self.processed} images{notes} in {self.seconds:.1f} s "
                f"({ips:.2f} images/s); outputs in {self.output}")


class _SlowImageProgress:
    """After ``delay`` seconds on one image, a tqdm line with the image name, the current stage
    and the elapsed time, refreshed every half second until the image is done: otherwise a
    single huge image shows no sign of life for minutes. Like every tqdm bar with
    ``disable=None``, nothing is shown when the stream is not a terminal."""

    def __init__(self, name: str, enabled: bool = True, delay: float = 3.0, file=None):
        self.name, self.stage, self.delay, self.file = name, "model", delay, file
        self.enabled = enabled
        self._stop = threading.Event()
        self._thread = None

    def _run(self) -> None:
        if self._stop.wait(self.delay):
            return
        with tqdm(desc=self.name, bar_format="{desc} {postfix} {elapsed}", leave=False, position=1,
                  disable=None, file=self.file) as bar:
            while True:
                bar.set_postfix_str(self.stage, refresh=True)
                if self._stop.wait(0.5):
                    return

    def __enter__(self) -> "_SlowImageProgress":
        if self.enabled:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


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
        parser.add_argument("--skip-existing", dest="skip_existing", action="store_true",
                            help="continue an interrupted run: skip images/frames whose outputs "
                                 "are all complete, redo the others")
        parser.add_argument("--no-progress", dest="no_progress", action="store_true",
                            help="no progress bar")
        parser.add_argument("-v", "--verbosity", action="count", default=0,
                            help="-v: INFO logs of every library, -vv: DEBUG")
        parser.add_argument("--domain", default="",
                            help="label space (head) of a multi-domain semantic model, e.g. "
                                 "pascal_person_part; same as --opts MODEL.SEMANTIC.TEST_DOMAIN NAME")
        add_debug_argument(parser)
        parser.add_argument("--opts", default=[], nargs=argparse.REMAINDER,
                            help="config overrides as KEY VALUE pairs, e.g. MODEL.DEVICE cuda")

    @classmethod
    def create_context(cls, args: argparse.Namespace, sources: List[InputSource], cfg):
        """The per-run state: ``planned_outputs(source)``, ``is_complete(source, frame)`` (for
        --skip-existing; ``frame`` None asks about the whole source), ``handle(frame, result)``,
        ``close(ok)``, ``output`` (for the summary) and ``output_folder``, ``own_folder`` (where
        stale temporaries are looked for; recursively only in a folder the tool owns)."""
        raise NotImplementedError

    @classmethod
    def execute(cls, args: argparse.Namespace, cfg, predictor=None) -> RunSummary:
        """Check inputs and outputs, build the predictor (unless given), run it on every frame."""
        if args.skip_existing and args.overwrite:
            raise ValueError("--skip-existing and --overwrite: choose one (keep complete outputs, "
                             "or redo everything)")
        sources, ignored = scan_inputs(args.input)
        total = count_frames(sources)  # also opens every video: undecodable ones fail here
        ctx = cls.create_context(args, sources, cfg)
        if args.skip_existing:
            todo = [s for s in sources if not ctx.is_complete(s, None)]
        else:
            todo = sources
            existing = [p for s in sources for p in ctx.planned_outputs(s) if os.path.exists(p)]
            if existing and not args.overwrite:
                raise FileExistsError(
                    f"{len(existing)} output(s) already exist, e.g. {existing[:3]}; "
                    "pass --overwrite to replace them or --skip-existing to continue a run"
                )
        summary = RunSummary(output=ctx.output, ignored=ignored, existing=len(sources) - len(todo))
        if ignored:
            logger.warning("Skipping %d files that are not images or videos: %s",
                           len(ignored), _names(ignored, 20))
        start = time.perf_counter()
        with temporary_file_tag("apply_net"):
            stale = remove_stale_temporaries(ctx.output_folder, recursive=ctx.own_folder)
            if stale:
                logger.info("Removed %d temporary files of an interrupted run: %s", len(stale), _names(stale))
            if predictor is None and todo:
                from human_parsing.predictor import ParsingPredictor

                predictor = ParsingPredictor(cfg)
            ok = False
            try:
                cls._run(args, ctx, todo, predictor, summary, total - (len(sources) - len(todo)))
                ok = True
            finally:
                ctx.close(ok and summary.processed > 0)
        summary.seconds = time.perf_counter() - start
        if summary.processed == 0 and summary.existing == 0:
            others = f"; {len(ignored)} non-image files" if ignored else ""
            raise DataFormatError(
                f"{args.input}: no input could be processed ({len(summary.skipped)} unreadable: "
                f"{_names(summary.skipped)}{others})"
            )
        return summary

    @classmethod
    def _run(cls, args, ctx, sources: List[InputSource], predictor, summary: RunSummary, total: int) -> None:
        no_bar = True if args.no_progress else None  # None: tqdm shows bars on terminals only
        for frame in tqdm(iter_frames(sources), total=total or None, unit="img",
                          desc=f"apply_net {cls.COMMAND}", disable=no_bar):
            if frame.image is None:
                logger.warning("Skipping unreadable image %s", frame.error)
                summary.skipped.append(frame.source.path)
                continue
            if frame.frame is not None and args.skip_existing and ctx.is_complete(frame.source, frame.frame):
                summary.existing += 1
                continue
            with _SlowImageProgress(frame.source.name, enabled=not args.no_progress) as progress:
                result = predictor(frame.image).filter(args.min_score)
                result.file_name, result.frame = frame.source.path, frame.frame
                progress.stage = "writing"
                ctx.handle(frame, result)
            summary.processed += 1


class _DumpContext:
    def __init__(self, writer):
        self.writer = writer
        self.output = writer.output
        self.own_folder = isinstance(writer, PngDumpWriter)
        self.output_folder = (writer.output if self.own_folder
                              else os.path.dirname(os.path.abspath(writer.output)))

    def planned_outputs(self, source: InputSource) -> List[str]:
        return self.writer.planned_outputs(source)

    def is_complete(self, source: InputSource, frame: Optional[int]) -> bool:
        return self.writer.is_complete(source, frame)

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
        self.own_folder = not self.single_file
        self.output_folder = os.path.dirname(os.path.abspath(out)) if self.single_file else out
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

    def is_complete(self, source: InputSource, frame: Optional[int]) -> bool:
        # files are renamed into place only when finished: one that exists is complete
        return frame is None and os.path.isfile(self.target(source))

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
