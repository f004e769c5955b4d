"""``SSTParser``: SST's base parsing network (§6.2) with, in training, its auxiliary modules
(§6.3) and objective (Eq. 12-13) for universal and dedicated parsing."""
import logging
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from detectron2.checkpoint import DetectionCheckpointer
from detectron2.config import configurable
from detectron2.modeling import META_ARCH_REGISTRY, build_backbone
from detectron2.structures import ImageList
from detectron2.utils import comm
from detectron2.utils.logger import log_first_n
from torch import nn

from human_parsing.data.label_spaces import get_label_space
from human_parsing.modeling.semantic import SemanticParsingModel

from .aux import DomainRepresentation, SSTAuxiliary, domain_pairs
from .decoder import SSTDecoder
from .encoder import MSDeformAttnPixelEncoder
from .export import TRAINING_ONLY_PREFIXES
from .priors import load_intra_adjacency, load_similarity

__all__ = ["SSTParser"]

logger = logging.getLogger(__name__)


def _build_aux(cfg, domains: Sequence[str], pair_domains: Optional[Sequence[Tuple[str, str]]] = None) -> SSTAuxiliary:
    """MSA/MSE for ``domains`` and MST for ``pair_domains`` (default: the pair strategy's)."""
    s = cfg.MODEL.SST
    if (s.USE_DATASET_SCR or s.USE_IMAGE_SCR) and not s.USE_MSE:
        raise ValueError("MODEL.SST.USE_DATASET_SCR / USE_IMAGE_SCR need MODEL.SST.USE_MSE (MST maps MSE's X_l)")
    num_classes = {d: get_label_space(d).num_classes for d in domains}
    pdir = s.PRIORS_DIR or None
    intra = {d: torch.as_tensor(load_intra_adjacency(d, pdir)) for d in domains} if s.USE_INTRA_MASK else {}
    if pair_domains is None:
        pair_domains = domain_pairs(domains, num_classes, s.PAIR_STRATEGY) if (s.USE_DATASET_SCR or s.USE_IMAGE_SCR) else []
    static = {(a, b): torch.as_tensor(load_similarity(b, a, pdir)) for a, b in pair_domains}
    return SSTAuxiliary(s.EMBED_DIM, num_classes, pair_domains, intra, static, 3, s.IGNORE_LABEL)


def _ce(logits: torch.Tensor, target: torch.Tensor, ignore: int) -> torch.Tensor:
    """Pixel-wise CE averaged over non-ignored pixels (0 with a graph when there are none)."""
    if not (target != ignore).any():
        return logits.sum() * 0.0
    return F.cross_entropy(logits, target, ignore_index=ignore)


@META_ARCH_REGISTRY.register()
class SSTParser(SemanticParsingModel):
    """Backbone -> deformable-attention encoder -> 3-stage decoder -> one 1x1 head per domain.

    Input: list of dicts with ``"image"`` (C, H, W) uint8, ``"domain"`` (label-space name),
    optionally ``"height"``/``"width"`` and, in training, ``"sem_seg"`` (H, W) int64.
    Training: the whole (mixed-domain) batch goes through the shared network and is split by
    domain only at the heads and auxiliary modules; returns ``loss_seg`` (alpha * sum over domains
    of L_seg) and, with the auxiliary modules, ``loss_aux``, ``loss_scr_dataset``, ``loss_scr_image``.
    Inference (:class:`SemanticParsingModel`): ``{"sem_seg": (Z, height, width)}`` logits of the
    domain's head; the auxiliary modules and the teacher are not used.
    """

    @configurable
    def __init__(
        self,
        *,
        backbone: nn.Module,
        encoder: nn.Module,
        decoder: nn.Module,
        lateral_feature: str,
        dim: int,
        ignore_label: int = 255,
        aux: Optional[SSTAuxiliary] = None,
        teacher: Optional["SSTParser"] = None,
        source_domains: Sequence[str] = (),
        msa_mask_source: str = "gt",
        use_dataset_scr: bool = True,
        use_image_scr: bool = True,
        scr_pair_reduction: str = "sum",
        loss_weights: Tuple[float, float, float] = (10.0, 1.0, 5.0),
        **kwargs,
    ):
        """
        Args:
            backbone, encoder, decoder: the base network (encoder: backbone dict -> maps at
                strides 8/16/32; decoder: those + ``lateral_feature`` -> [H_1, H_2, H_3]).
            dim: D; one ``Conv2d(D, Z, 1)`` head per domain (``heads[domain]``).
            aux: the auxiliary modules (training only; None = the plain multi-dataset network).
            teacher: dedicated step 2: the frozen step-1 network with MSA/MSE of ``source_domains``.
            msa_mask_source: "gt" or "pred", the masks delta of MSA.
            loss_weights: (alpha, beta, lambda).
            kwargs: of :class:`SemanticParsingModel` (domains, pixel mean/std, padding, ...).
        """
        super().__init__(**kwargs)
        if msa_mask_source not in ("gt", "pred"):
            raise ValueError(f"MODEL.SST.MSA_MASK_SOURCE must be 'gt' or 'pred', got {msa_mask_source!r}")
        if scr_pair_reduction not in ("sum", "mean"):
            raise ValueError(f"MODEL.SST.SCR_PAIR_REDUCTION must be 'sum' or 'mean', got {scr_pair_reduction!r}")
        self.backbone, self.encoder, self.decoder = backbone, encoder, decoder
        self.lateral_feature = lateral_feature
        self.heads = nn.ModuleDict({d: nn.Conv2d(dim, self.num_classes(d), 1) for d in self.domains})
        self.ignore_label = ignore_label
        self.aux = aux
        self.teacher = teacher
        if teacher is not None:
            for p in teacher.parameters():
                p.requires_grad_(False)
        self.source_domains = list(source_domains)
        self.msa_mask_source = msa_mask_source
        self.use_dataset_scr = use_dataset_scr
        self.use_image_scr = use_image_scr
        self.scr_pair_reduction = scr_pair_reduction
        self.alpha, self.beta, self.lam = loss_weights
        self._register_load_state_dict_pre_hook(self._drop_training_only_weights)

    def _drop_training_only_weights(self, state_dict, prefix, *args):
        """A training checkpoint loads into the inference model (built without ``aux`` or
        ``teacher``): their tensors are dropped instead of being reported as unexpected."""
        absent = tuple(prefix + p for p in TRAINING_ONLY_PREFIXES if getattr(self, p.rstrip(".")) is None)
        dropped = [k for k in state_dict if absent and k.startswith(absent)]
        for k in dropped:
            del state_dict[k]
        if dropped:
            logger.info(f"SSTParser: {len(dropped)} training-only tensors ({', '.join(absent)}*) not loaded")

    @classmethod
    def from_config(cls, cfg):
        ret = super().from_config(cfg)
        s = cfg.MODEL.SST
        if s.FULL_RES_MODE != "bilinear":
            raise ValueError(f"MODEL.SST.FULL_RES_MODE {s.FULL_RES_MODE!r}: only 'bilinear' is implemented")
        if s.MODE not in ("universal", "dedicated"):
            raise ValueError(f"MODEL.SST.MODE must be 'universal' or 'dedicated', got {s.MODE!r}")
        backbone = build_backbone(cfg)
        shapes = backbone.output_shape()
        if s.DECODER_LATERAL_FEATURE not in shapes:
            raise ValueError(
                f"MODEL.SST.DECODER_LATERAL_FEATURE {s.DECODER_LATERAL_FEATURE!r} is not a backbone output {sorted(shapes)}"
            )
        encoder = MSDeformAttnPixelEncoder(
            shapes, s.ENCODER_IN_FEATURES, s.EMBED_DIM, s.ENCODER_LAYERS, s.ENCODER_HEADS, s.ENCODER_POINTS,
            s.ENCODER_FFN_DIM, s.DROPOUT, s.NORM,
        )
        if len(encoder.strides) != 3 or encoder.strides[0] * 4 != encoder.strides[2]:
            raise ValueError(f"MODEL.SST.ENCODER_IN_FEATURES must be three maps at strides s, 2s, 4s; got {encoder.strides}")
        decoder = SSTDecoder(
            s.EMBED_DIM, shapes[s.DECODER_LATERAL_FEATURE].channels, s.DECODER_BLOCKS, s.DECODER_HEADS,
            s.DECODER_WINDOW, s.DECODER_FFN_DIM, s.DROPOUT, s.NORM,
        )
        domains = ret["domains"]
        aux = teacher = None
        source_domains = []
        if s.AUX_ON:
            if s.MODE == "dedicated":
                teacher, source_domains = cls._build_teacher(cfg, domains)
                scr = s.USE_DATASET_SCR or s.USE_IMAGE_SCR
                aux = _build_aux(cfg, domains, [(a, b) for a in source_domains for b in domains] if scr else [])
            elif s.USE_MSE:
                aux = _build_aux(cfg, domains)
        ret.update(
            backbone=backbone,
            encoder=encoder,
            decoder=decoder,
            lateral_feature=s.DECODER_LATERAL_FEATURE,
            dim=s.EMBED_DIM,
            # the encoder's coarsest stride unless MODEL.SEMANTIC.SIZE_DIVISIBILITY says otherwise
            size_divisibility=ret["size_divisibility"] or encoder.strides[-1],
            ignore_label=s.IGNORE_LABEL,
            aux=aux,
            teacher=teacher,
            source_domains=source_domains,
            msa_mask_source=s.MSA_MASK_SOURCE,
            use_dataset_scr=s.USE_DATASET_SCR,
            use_image_scr=s.USE_IMAGE_SCR,
            scr_pair_reduction=s.SCR_PAIR_REDUCTION,
            loss_weights=(s.LOSS_SEG_WEIGHT, s.LOSS_AUX_WEIGHT, s.LOSS_SCR_WEIGHT),
        )
        return ret

    @classmethod
    def _build_teacher(cls, cfg, target_domains):
        """The frozen step-1 pipeline: base network + MSA/MSE of the source domains."""
        d = cfg.MODEL.SST.DEDICATED
        sources = list(d.SOURCE_DOMAINS)
        if not sources:
            raise ValueError("MODEL.SST.MODE 'dedicated' needs MODEL.SST.DEDICATED.SOURCE_DOMAINS")
        if set(sources) & set(target_domains):
            raise ValueError(f"Dedicated SST: source domains {sources} overlap the target domains {list(target_domains)}")
        if d.SOURCE_MASKS != "teacher_pred":
            raise ValueError(f"MODEL.SST.DEDICATED.SOURCE_MASKS: only 'teacher_pred' is implemented, got {d.SOURCE_MASKS!r}")
        tcfg = cfg.clone()
        tcfg.defrost()
        tcfg.MODEL.SST.MODE = "universal"
        tcfg.MODEL.SST.USE_MSE = True
        tcfg.MODEL.SST.USE_DATASET_SCR = tcfg.MODEL.SST.USE_IMAGE_SCR = False  # the teacher needs no MST
        tcfg.MODEL.SEMANTIC.DOMAINS = tuple(sources)
        tcfg.MODEL.SEMANTIC.TEST_DOMAIN = ""
        teacher = cls(tcfg)
        if d.TEACHER_WEIGHTS:
            DetectionCheckpointer(teacher).load(d.TEACHER_WEIGHTS)
        else:
            logger.warning("MODEL.SST.DEDICATED.TEACHER_WEIGHTS is empty: the teacher is a random network")
        teacher.eval()
        return teacher, sources

    def train(self, mode: bool = True):
        super().train(mode)
        if self.teacher is not None:
            self.teacher.eval()  # frozen, including its norm statistics
        return self

    # ------------------------------------------------------------------ base network
    def features(self, images: torch.Tensor) -> List[torch.Tensor]:
        """Normalised, padded (N, 3, H, W) -> [H_1, H_2, H_3] at 1/16, 1/8, 1/4."""
        feats = self.backbone(images)
        return self.decoder(self.encoder(feats), feats[self.lateral_feature])

    def forward_features(self, images: torch.Tensor, domain: str) -> Dict[str, torch.Tensor]:
        """Inference: the domain's 1x1 head on H_3; the base class upsamples the logits to the
        input, which equals the head applied on F = bilinear(H_3) (the head is linear)."""
        return {"sem_seg": self.heads[domain](self.features(images)[2])}

    def forward(self, batched_inputs: List[Dict]):
        if not self.training:
            return super().forward(batched_inputs)
        images = self.preprocess_image(batched_inputs)
        targets = self.preprocess_targets(batched_inputs, images)["sem_seg"]
        groups = {d: torch.as_tensor(idx, device=self.device) for d, idx in self.group_by_domain(batched_inputs).items()}
        return self.training_losses(self.features(images.tensor), targets, groups, images)

    # ------------------------------------------------------------------ training
    def _ce(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Pixel-wise CE of logits upsampled to the target, averaged over non-ignored pixels."""
        logits = self.upsample_logits(logits, target.shape[-2:])
        if not (target != self.ignore_label).any():
            return logits.sum() * 0.0
        return F.cross_entropy(logits, target, ignore_index=self.ignore_label)

    def training_losses(self, hs, targets, groups, images: ImageList) -> Dict[str, torch.Tensor]:
        """Eq. 12 (universal) or Eq. 13 second line (dedicated) on one batch.

        Args:
            hs: [H_1, H_2, H_3] of the whole batch; targets: (N, Hp, Wp) padded labels;
            groups: domain -> indices of its images in the batch.
        """
        seg, aux_ce, reps, logits = 0.0, 0.0, {}, {}
        for d, idx in groups.items():
            logits[d] = self.heads[d](hs[2][idx])
            seg = seg + self._ce(logits[d], targets[idx])
        losses = {"loss_seg": self.alpha * seg}
        if self.aux is not None:
            for d, idx in groups.items():
                masks = targets[idx] if self.msa_mask_source == "gt" else logits[d].detach().argmax(1)
                reps[d] = self.aux.represent(d, [h[idx] for h in hs], masks)
                aux_ce = aux_ce + self._ce(self.aux.aux_logits(reps[d], hs[2][idx]), targets[idx])
            losses["loss_aux"] = self.beta * aux_ce
            losses.update(self._scr_losses(groups, reps, images, hs))
        if comm.get_world_size() > 1:  # DDP: every parameter in the graph, even absent domains'
            losses["loss_seg"] = losses["loss_seg"] + sum(p.sum() for p in self.parameters() if p.requires_grad) * 0.0
        return losses

    def _teacher_representations(self, images: ImageList) -> Dict[str, DomainRepresentation]:
        """Dedicated step 2: the frozen teacher's MSA/MSE on the target images, its masks delta
        predicted by its own source heads (the target images have no source labels)."""
        t = self.teacher
        with torch.no_grad():
            ths = t.features(images.tensor)
            return {d: t.aux.represent(d, ths, t.heads[d](ths[2]).argmax(1)) for d in self.source_domains}

    def _scr_losses(self, groups, reps, images, hs) -> Dict[str, torch.Tensor]:
        if not self.aux.pairs or not (self.use_dataset_scr or self.use_image_scr):
            return {}
        dedicated = self.teacher is not None
        x0 = {d: m.embedding for d, m in self.aux.mse.items()}
        if dedicated:
            reps = dict(reps, **self._teacher_representations(images))
            x0.update({d: self.teacher.aux.mse[d].embedding for d in self.source_domains})
        ds, im, n_ds, n_im = 0.0, 0.0, 0, 0
        for a, b in self.aux.pairs:
            if self.use_dataset_scr:
                ds, n_ds = ds + self.aux.scr_dataset(a, b, x0[a], x0[b]), n_ds + 1
            if self.use_image_scr and a in reps and b in reps:
                ia, ib = self._image_pairs(groups, a, b, dedicated)
                im, n_im = im + self.aux.scr_image(a, b, reps[a], reps[b], ia, ib), n_im + 1
        out = {}
        if self.use_dataset_scr:
            out["loss_scr_dataset"] = self.lam * (ds / n_ds if self.scr_pair_reduction == "mean" else ds)
        if self.use_image_scr:
            if n_im == 0:
                log_first_n(
                    logging.WARNING,
                    "SST: a batch holds no image pair of an MST domain pair; image-level SCR is skipped "
                    "for it and only dataset-level SCR applies (methods.md §6.8). Use the mixed-domain sampler.",
                    n=1,
                )
                out["loss_scr_image"] = hs[2].sum() * 0.0
            else:
                out["loss_scr_image"] = self.lam * (im / n_im if self.scr_pair_reduction == "mean" else im)
        return out

    @staticmethod
    def _image_pairs(groups, a: str, b: str, dedicated: bool):
        """Positions (into rep_a, rep_b) of the image pairs of Eq. 11. Universal: every
        (a image, b image) pair of the batch. Dedicated (a = source, from the teacher on the whole
        batch; b = target): each target image with itself."""
        ib = torch.arange(len(groups[b]), device=groups[b].device)
        if dedicated:
            return groups[b], ib
        ia = torch.arange(len(groups[a]), device=groups[a].device)
        ga, gb = torch.meshgrid(ia, ib, indexing="ij")
        return ga.reshape(-1), gb.reshape(-1)
