"""Per-image work of the offline evaluation CLI, importable by spawned worker processes."""
from . import formats
from .pipeline import image_record

__all__ = ["init_worker", "evaluate_one"]

_STATE = {}  # args, opts and the prediction index; set in the parent and in each worker


def init_worker(state: dict) -> None:
    """Install the CLI's state (``args``, ``opts``, ``index``) in this process."""
    _STATE.clear()
    _STATE.update(state)


def evaluate_one(image_id):
    """Read one image's GT and prediction and reduce them to an evaluation record."""
    a = _STATE["args"]
    ls = getattr(a, "label_space", None) or None  # decodes colour-coded PNGs when given
    gt = formats.read_gt(a.gt, a.gt_format, image_id, a.num_classes, ls)
    pred = formats.read_pred(a.pred, a.pred_format, image_id, a.num_classes, _STATE.get("index"), ls)
    name = f"prediction of image {image_id} in {a.pred}"
    rec = image_record(gt, pred, _STATE["opts"], name)
    return image_id, rec, pred is None
