#!/usr/bin/python3
"""Makes the community-weights probes: tests/MLNet.SuperResolution.Tests/Weights/CommunityProbes.

Each probe is a network built with its OFFICIAL PyTorch code (imported from a checkout of the upstream repository,
never copied here), given RANDOM weights with a fixed seed, and stored in one of the file layouts that community
checkpoints use (torch zip or legacy pickle, safetensors; bare state dict or wrapped in params / params_ema /
state_dict / model; keys prefixed with module. or netG.; float32, float16 or bfloat16), together with a fixed random
input and the network's output on it (float32 .npy). The .NET reader is given only the weight file: it must detect the
family and its hyper-parameters from the keys and shapes, rebuild the network and reproduce the output.
manifest.json lists every probe (file layout, family, hyper-parameters, source file and commit); hostile/ holds
files that a safe reader must refuse (hostile/manifest.json says why each one is hostile).

Run (Debian's PyTorch 1.13; nothing else is needed: no torchvision, basicsr, neosr, spandrel or safetensors):

    /usr/bin/python3 build/make_community_probes.py --sources DIR \\
        --out tests/MLNet.SuperResolution.Tests/Weights/CommunityProbes

DIR holds one folder per upstream repository, named OWNER+NAME (e.g. DIR/XPixelGroup+BasicSR), with the files listed
in SOURCES below at their paths in the repository. Either export them from git mirrors,

    for each OWNER+NAME and COMMIT in SOURCES:
        mkdir -p DIR/OWNER+NAME
        git -C MIRRORS/OWNER+NAME/repo archive COMMIT PATHS... | tar -x -C DIR/OWNER+NAME

which the script does itself with --export-from MIRRORS (MIRRORS/OWNER+NAME/repo are bare or normal git
repositories), or clone them from GitHub:

    git clone https://github.com/OWNER/NAME DIR/OWNER+NAME && git -C DIR/OWNER+NAME checkout COMMIT

Every source file is checked against the git blob id pinned in SOURCES (git hash-object), so the probes are made
from exactly these commits:

    XPixelGroup/BasicSR          8d56e3a045f9fb3e1d8872f92ee4a4f07f886b0a  RRDBNet (BasicSR layout, x4/x2/x1)
    xinntao/Real-ESRGAN          a4abfb2979a7bbff3f69f58f58ae324608821e27  SRVGGNetCompact
    xinntao/ESRGAN               73e9b634cf987f5996ac2dd33f4050922398a921  RRDBNet (ESRGAN/BSRGAN layout)
    hongyuanyu/SPAN              c77a5917759f09e66fbc7124220c5afc5ee221e5  SPAN (NTIRE 2024)
    dslisleedh/PLKSR             f0548687cb0fab41185a2d51ad00aaa70894abbe  PLKSR
    muslll/neosr                 dc4e3742132bae2c2aa8e8d16de3a9fcec6b1a74  RealPLKSR (GroupNorm; DySample)
    the-database/traiNNer-redux  686293190aca3e432a42b6155dbc94ea51c4bf9f  RealPLKSR with layer_norm (neosr has none)
    chaiNNer-org/spandrel        b0c3eb2d044112a5302200757e84f839b971393b  old-arch ESRGAN (model.N keys), ESRGAN+,
                                                                            and the DySample traiNNer-redux imports

The old-arch ESRGAN layout (model.0, model.1.sub.N.RDBk.convj.0, ...) and ESRGAN+ have no maintained official code;
spandrel's RRDB.py/block.py is a faithful copy of the original old architecture and is named as their source.

What the script stubs (registry decorators, modules the networks import but do not use, neosr's net_opt() that reads
a training config, and pinned memory in neosr's DySample, which CPU-only PyTorch cannot allocate and which does not
change any value) is listed in load_sources(). Output is deterministic: fixed seeds, and torch's legacy format is
written with storage keys 0, 1, ... in pickling order instead of memory addresses.

Checks at the end: every weight file is loaded back (torch.load(weights_only=True), or the safetensors header),
unwrapped, the network rebuilt from the manifest and run on the stored input; the output must equal the stored output
to 1e-6. The hostile files are inspected without being unpickled (pickletools), except those whose only hazard is
their tensor metadata, which torch.load(weights_only=True) must refuse.
"""
import argparse
import builtins
import collections
import contextlib
import hashlib
import importlib
import importlib.util
import io
import json
import logging
import os
import pickle
import pickletools
import struct
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

# ---------------------------------------------------------------------------------------------------------------
# Upstream sources: folder name -> (GitHub repository, commit, {path: git blob id})

SOURCES = {
    "XPixelGroup+BasicSR": ("XPixelGroup/BasicSR", "8d56e3a045f9fb3e1d8872f92ee4a4f07f886b0a", {
        "basicsr/archs/rrdbnet_arch.py": "63d07080c2ec1305090c59b7bfbbda2b003b18e4",
        "basicsr/archs/arch_util.py": "493e566112e85a2eb17d6b5aaf5241f4d0d882b7",
    }),
    "xinntao+Real-ESRGAN": ("xinntao/Real-ESRGAN", "a4abfb2979a7bbff3f69f58f58ae324608821e27", {
        "realesrgan/archs/srvgg_arch.py": "39460965c9c5ee9cd6eb41c50d33574cb8ba6e50",
    }),
    "xinntao+ESRGAN": ("xinntao/ESRGAN", "73e9b634cf987f5996ac2dd33f4050922398a921", {
        "RRDBNet_arch.py": "09a7ed5d360630b72775e266b7fbb215be1eb15a",
    }),
    "hongyuanyu+SPAN": ("hongyuanyu/SPAN", "c77a5917759f09e66fbc7124220c5afc5ee221e5", {
        "basicsr/archs/span_arch.py": "123c7cb0d8bc38fd7453bd234b441e6577f5eeed",
    }),
    "dslisleedh+PLKSR": ("dslisleedh/PLKSR", "f0548687cb0fab41185a2d51ad00aaa70894abbe", {
        "plksr/archs/plksr_arch.py": "eaa9d7076f08ac3f6a4e38c326555afb9632f2bf",
    }),
    "muslll+neosr": ("muslll/neosr", "dc4e3742132bae2c2aa8e8d16de3a9fcec6b1a74", {
        "neosr/archs/realplksr_arch.py": "d43020006b8d2383bea57a15103c66e180b6ec68",
        "neosr/archs/arch_util.py": "e20c4b0ecef413ab4976ec278b1e2a7228bd8e06",
    }),
    "the-database+traiNNer-redux": ("the-database/traiNNer-redux", "686293190aca3e432a42b6155dbc94ea51c4bf9f", {
        "traiNNer/archs/realplksr_arch.py": "b7885e501aeb5856bcdd1cbcd0e7211d9a7e3fc7",
    }),
    "chaiNNer-org+spandrel": ("chaiNNer-org/spandrel", "b0c3eb2d044112a5302200757e84f839b971393b", {
        "libs/spandrel/spandrel/architectures/ESRGAN/__arch/RRDB.py": "cb366ae95bea09de774714916c58bc4e9c759df1",
        "libs/spandrel/spandrel/architectures/__arch_helpers/block.py": "b013a76e9f6a2df760a636b907796b8cf3327f2e",
        "libs/spandrel/spandrel/architectures/__arch_helpers/padding.py": "54334f004a1cbec582406f6468c52431115188dd",
        "libs/spandrel/spandrel/architectures/__arch_helpers/dysample.py": "ea5a9b5421e53675ab15b481515f2d20423618b0",
        "libs/spandrel/spandrel/util/__init__.py": "34805e18a6a7fad67f613b8e0a67d6a4b2ebe3b4",
    }),
}


def source_ref(folder, path):
    repo, commit, _ = SOURCES[folder]
    return f"{repo}@{commit} {path}"


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def export_sources(mirrors: Path, dest: Path):
    for folder, (_, commit, files) in SOURCES.items():
        out = dest / folder
        out.mkdir(parents=True, exist_ok=True)
        repo = mirrors / folder / "repo"
        if not repo.exists():
            repo = mirrors / folder
        run = subprocess.run(["git", "-C", str(repo), "archive", commit, *files], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        if run.returncode != 0:
            sys.exit(f"git archive in {repo} failed:\n{run.stderr.decode()}")
        archive = run.stdout
        subprocess.run(["tar", "-x", "-C", str(out)], input=archive, check=True)


def check_sources(root: Path):
    for folder, (repo, commit, files) in SOURCES.items():
        for path, blob in files.items():
            p = root / folder / path
            if not p.is_file():
                sys.exit(f"missing {p} ({repo}@{commit}); see the top of this script for how to export it")
            got = git_blob_id(p.read_bytes())
            if got != blob:
                sys.exit(f"{p}: git blob {got}, expected {blob} ({repo}@{commit})")


# ---------------------------------------------------------------------------------------------------------------
# Importing the official files without their packages' __init__ (which would import every architecture, CUDA ops,
# training configs). Parent packages become empty modules whose __path__ points at the real folder, so relative
# imports between the real files work.

class _Registry:
    """Stands in for basicsr/neosr/traiNNer's ARCH_REGISTRY: register() and register(obj) return obj unchanged."""

    def register(self, obj=None, *args, **kwargs):
        return (lambda o: o) if obj is None else obj


def _package(name, path=None, **attrs):
    module = types.ModuleType(name)
    if path is not None:
        module.__path__ = [str(path)]
    module.__dict__.update(attrs)
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent and parent in sys.modules:
        setattr(sys.modules[parent], child, module)
    return module


def _load_file(name, path):
    spec = importlib.util.spec_from_file_location(name, str(path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class _TorchWithoutPinnedMemory:
    """neosr's DySample.forward builds a 2-element tensor with pin_memory=True, which needs CUDA; pinning changes
    where the host memory lives, not its values. Everything else is torch itself."""

    def __getattr__(self, name):
        return getattr(torch, name)

    @staticmethod
    def tensor(*args, pin_memory=False, **kwargs):
        return torch.tensor(*args, **kwargs)


def load_sources(root: Path):
    S = types.SimpleNamespace()
    registry = _Registry()

    # Imported by BasicSR's arch_util (deformable convolutions, a version check) and by plksr_arch (unused).
    tv = _package("torchvision", __version__="0.0.0")
    _package("torchvision.ops")
    tv.ops = sys.modules["torchvision.ops"]

    # BasicSR: basicsr.archs is the real folder; ops.dcn (CUDA extension), utils (logger, registry) are stubs.
    basicsr = root / "XPixelGroup+BasicSR" / "basicsr"
    _package("basicsr", basicsr)
    _package("basicsr.archs", basicsr / "archs")
    _package("basicsr.ops")
    _package("basicsr.ops.dcn", ModulatedDeformConvPack=type("ModulatedDeformConvPack", (nn.Module,), {}),
             modulated_deform_conv=None)
    _package("basicsr.utils", get_root_logger=lambda *a, **k: logging.getLogger("basicsr"))
    _package("basicsr.utils.registry", ARCH_REGISTRY=registry)
    S.basicsr_rrdbnet = importlib.import_module("basicsr.archs.rrdbnet_arch")

    S.realesrgan_srvgg = _load_file("probe_src_realesrgan_srvgg",
                                    root / "xinntao+Real-ESRGAN" / "realesrgan/archs/srvgg_arch.py")
    S.esrgan_rrdbnet = _load_file("probe_src_esrgan_rrdbnet", root / "xinntao+ESRGAN" / "RRDBNet_arch.py")
    S.span = _load_file("probe_src_span_arch", root / "hongyuanyu+SPAN" / "basicsr/archs/span_arch.py")
    # plksr_arch imports basicsr.archs.arch_util.trunc_normal_ (BasicSR's, above); only used for initialisation.
    S.plksr = _load_file("probe_src_plksr_arch", root / "dslisleedh+PLKSR" / "plksr/archs/plksr_arch.py")

    # neosr: realplksr_arch calls net_opt() at import (it parses the training command line and YAML config);
    # it only supplies the default of upscaling_factor, which every probe passes explicitly.
    neosr = root / "muslll+neosr" / "neosr"
    _package("neosr", neosr)
    _package("neosr.archs", neosr / "archs")
    _package("neosr.utils")
    _package("neosr.utils.registry", ARCH_REGISTRY=registry)

    def _no_config(*args, **kwargs):
        raise RuntimeError("neosr's option parser is not available here")

    _package("neosr.utils.options", parse_options=_no_config)
    neosr_util = importlib.import_module("neosr.archs.arch_util")
    neosr_util.net_opt = lambda: (4, False)
    neosr_util.torch = _TorchWithoutPinnedMemory()
    S.neosr_realplksr = importlib.import_module("neosr.archs.realplksr_arch")

    # spandrel: the old-arch ESRGAN (RRDB.py + __arch_helpers) and the DySample that traiNNer-redux imports.
    spandrel = root / "chaiNNer-org+spandrel" / "libs/spandrel/spandrel"
    _package("spandrel", spandrel)
    _package("spandrel.architectures", spandrel / "architectures")
    _package("spandrel.architectures.__arch_helpers", spandrel / "architectures/__arch_helpers")
    _package("spandrel.architectures.ESRGAN", spandrel / "architectures/ESRGAN")
    _package("spandrel.architectures.ESRGAN.__arch", spandrel / "architectures/ESRGAN/__arch")
    importlib.import_module("spandrel.util")  # the real one: store_hyperparameters, standard library only
    S.spandrel_rrdb = importlib.import_module("spandrel.architectures.ESRGAN.__arch.RRDB")

    _package("traiNNer")
    _package("traiNNer.utils")
    _package("traiNNer.utils.registry", ARCH_REGISTRY=registry)
    S.trainner_realplksr = _load_file("probe_src_trainner_realplksr",
                                      root / "the-database+traiNNer-redux" / "traiNNer/archs/realplksr_arch.py")
    return S


# ---------------------------------------------------------------------------------------------------------------
# The probes

ESRGAN_RRDB = ("XPixelGroup+BasicSR", "basicsr/archs/rrdbnet_arch.py")
OLDARCH = ("chaiNNer-org+spandrel", "libs/spandrel/spandrel/architectures/ESRGAN/__arch/RRDB.py")
OLDARCH_DEPS = [("chaiNNer-org+spandrel", "libs/spandrel/spandrel/architectures/__arch_helpers/block.py")]
NEOSR = ("muslll+neosr", "neosr/archs/realplksr_arch.py")
NEOSR_DEPS = [("muslll+neosr", "neosr/archs/arch_util.py")]

SPAN_MEAN = [0.4488, 0.4371, 0.4040]


def P(name, family, variant, src, build, hyper, fmt, size, *, wrapper=None, prefix="", dtype="float32",
      scale, in_ch=3, out_ch=3, deps=(), init=None, notes=None):
    return dict(name=name, family=family, variant=variant, src=src, build=build, hyper=hyper, format=fmt,
                size=size, wrapper=wrapper, prefix=prefix, dtype=dtype, scale=scale, in_ch=in_ch, out_ch=out_ch,
                deps=list(deps), init=init or {}, notes=notes)


def probes():
    return [
        # ---- ESRGAN family
        P("esrgan-basicsr-x4", "Esrgan", "basicsr", ESRGAN_RRDB, "basicsr_rrdbnet",
          dict(num_in_ch=3, num_out_ch=3, scale=4, num_feat=16, num_block=2, num_grow_ch=8),
          "zip", (12, 10), wrapper="params_ema", scale=4,
          notes="The file holds {'params': <other random weights>, 'params_ema': <these>} in that order (BasicSR's "
                "order); the reader must prefer params_ema."),
        P("esrgan-basicsr-x2", "Esrgan", "basicsr", ESRGAN_RRDB, "basicsr_rrdbnet",
          dict(num_in_ch=3, num_out_ch=3, scale=2, num_feat=8, num_block=1, num_grow_ch=8),
          "zip", (10, 14), wrapper="params", prefix="module.", scale=2,
          notes="pixel_unshuffle(2) before conv_first (12 input channels); H, W even."),
        P("esrgan-basicsr-x1", "Esrgan", "basicsr", ESRGAN_RRDB, "basicsr_rrdbnet",
          dict(num_in_ch=3, num_out_ch=3, scale=1, num_feat=8, num_block=1, num_grow_ch=4),
          "safetensors", (12, 16), scale=1,
          notes="pixel_unshuffle(4) before conv_first (48 input channels); H, W multiples of 4."),
        P("esrgan-bsrgan-x4", "Esrgan", "bsrgan", ("xinntao+ESRGAN", "RRDBNet_arch.py"), "esrgan_rrdbnet",
          dict(in_nc=3, out_nc=3, nf=16, nb=2, gc=8), "legacy", (11, 9), scale=4),
        P("esrgan-oldarch-x8", "Esrgan", "oldarch", OLDARCH, "oldarch",
          dict(in_nc=3, out_nc=3, num_filters=8, num_blocks=1, scale=8, plus=False),
          "zip", (7, 5), wrapper="state_dict", scale=8, deps=OLDARCH_DEPS,
          notes="Growth channels are fixed at 32 in the old architecture (RRDB(gc=32))."),
        P("esrgan-oldarch-x2-fp16", "Esrgan", "oldarch", OLDARCH, "oldarch",
          dict(in_nc=3, out_nc=3, num_filters=12, num_blocks=2, scale=2, plus=False),
          "zip", (13, 10), prefix="netG.", dtype="float16", scale=2, deps=OLDARCH_DEPS,
          notes="Growth channels fixed at 32. Stored float16; the output was computed in float32 from the "
                "float16-rounded weights."),
        P("esrgan-plus-x4", "Esrgan", "plus", OLDARCH, "oldarch",
          dict(in_nc=3, out_nc=3, num_filters=8, num_blocks=1, scale=4, plus=True),
          "zip", (10, 9), scale=4, deps=OLDARCH_DEPS,
          notes="ESRGAN+: each RDB has conv1x1 (no bias): x2 += conv1x1(x); x4 += x2. Growth channels fixed at 32."),
        P("esrgan-oldarch-x1-gray", "Esrgan", "oldarch", OLDARCH, "oldarch",
          dict(in_nc=1, out_nc=1, num_filters=8, num_blocks=1, scale=1, plus=False),
          "legacy", (13, 11), scale=1, in_ch=1, out_ch=1, deps=OLDARCH_DEPS,
          notes="No upsampling blocks: model.2 (HR conv0) and model.4 (last conv) follow model.1."),
        # ---- Compact
        P("compact-x4", "Compact", "realesrgan", ("xinntao+Real-ESRGAN", "realesrgan/archs/srvgg_arch.py"),
          "srvgg", dict(num_in_ch=3, num_out_ch=3, num_feat=16, num_conv=4, upscale=4, act_type="prelu"),
          "zip", (12, 10), wrapper="params", scale=4),
        P("compact-x2-bf16", "Compact", "realesrgan", ("xinntao+Real-ESRGAN", "realesrgan/archs/srvgg_arch.py"),
          "srvgg", dict(num_in_ch=3, num_out_ch=3, num_feat=8, num_conv=2, upscale=2, act_type="prelu"),
          "safetensors", (11, 14), dtype="bfloat16", scale=2,
          notes="Stored bfloat16; the output was computed in float32 from the bfloat16-rounded weights."),
        P("compact-x1", "Compact", "realesrgan", ("xinntao+Real-ESRGAN", "realesrgan/archs/srvgg_arch.py"),
          "srvgg", dict(num_in_ch=3, num_out_ch=3, num_feat=8, num_conv=3, upscale=1, act_type="prelu"),
          "legacy", (9, 13), wrapper="model", scale=1),
        # ---- SPAN
        P("span-x4", "Span", "span", ("hongyuanyu+SPAN", "basicsr/archs/span_arch.py"), "span",
          dict(num_in_ch=3, num_out_ch=3, feature_channels=16, upscale=4, bias=True, img_range=255.0,
               rgb_mean=SPAN_MEAN),
          "zip", (12, 10), wrapper="params_ema", scale=4, init=dict(span=True),
          notes="The stored *.eval_conv.* tensors are random and unrelated to the other weights: the official eval "
                "forward recomputes them from sk and conv.0-2 (Conv3XC.update_params) before every use."),
        P("span-x2", "Span", "span", ("hongyuanyu+SPAN", "basicsr/archs/span_arch.py"), "span",
          dict(num_in_ch=3, num_out_ch=3, feature_channels=8, upscale=2, bias=True, img_range=255.0,
               rgb_mean=SPAN_MEAN),
          "zip", (13, 11), scale=2, init=dict(span=True),
          notes="As span-x4: the stored eval_conv tensors are random and must not be used."),
        # ---- PLKSR
        P("plksr-x4", "Plksr", "plk-ccm", ("dslisleedh+PLKSR", "plksr/archs/plksr_arch.py"), "plksr",
          dict(dim=16, n_blocks=2, upscaling_factor=4, ccm_type="CCM", kernel_size=13, split_ratio=0.25,
               lk_type="PLK", use_max_kernel=False, with_idt=False, use_ea=True, is_coreml=False),
          "zip", (12, 10), wrapper="params_ema", scale=4),
        P("plksr-x2-dccm", "Plksr", "plk-dccm", ("dslisleedh+PLKSR", "plksr/archs/plksr_arch.py"), "plksr",
          dict(dim=16, n_blocks=2, upscaling_factor=2, ccm_type="DCCM", kernel_size=9, split_ratio=0.25,
               lk_type="PLK", use_max_kernel=False, with_idt=False, use_ea=False, is_coreml=False),
          "zip", (14, 11), scale=2),
        P("plksr-x3-variant", "Plksr", "rectsparseplk-iccm", ("dslisleedh+PLKSR", "plksr/archs/plksr_arch.py"),
          "plksr",
          dict(dim=16, n_blocks=2, upscaling_factor=3, ccm_type="ICCM", kernel_size=15, split_ratio=0.5,
               lk_type="RectSparsePLK", use_max_kernel=False, with_idt=False, use_ea=True, is_coreml=False),
          "zip", (10, 13), scale=3,
          notes="lk_type RectSparsePLK: lk.mn_conv (15x5), lk.nm_conv (5x15), lk.nn_conv (5x5) on the first "
                "dim*split_ratio channels, summed; kernel_size // 3 must be odd for the shapes to agree."),
        # ---- RealPLKSR
        P("realplksr-x4", "RealPlksr", "neosr", NEOSR, "neosr_realplksr",
          dict(in_ch=3, out_ch=3, dim=16, n_blocks=2, upscaling_factor=4, kernel_size=13, split_ratio=0.25,
               use_ea=True, norm_groups=4, dropout=0, dysample=False),
          "zip", (12, 10), wrapper="params_ema", scale=4, deps=NEOSR_DEPS,
          notes="GroupNorm(norm_groups=4, dim) after refine; the group count is not visible in the weights."),
        P("realplksr-x2-dysample-ln", "RealPlksr", "trainner-layernorm",
          ("the-database+traiNNer-redux", "traiNNer/archs/realplksr_arch.py"), "trainner_realplksr",
          dict(in_ch=3, out_ch=3, dim=16, n_blocks=2, upscaling_factor=2, kernel_size=13, split_ratio=0.25,
               use_ea=True, norm_groups=4, dropout=0, upsampler="dysample", layer_norm=True),
          "zip", (11, 13), scale=2,
          deps=[("chaiNNer-org+spandrel", "libs/spandrel/spandrel/architectures/__arch_helpers/dysample.py")],
          notes="neosr's realplksr has no layer_norm option; this is traiNNer-redux's RealPLKSR (its origin), "
                "which imports spandrel's DySample. layer_norm=True puts a channel LayerNorm (eps 1e-6) before "
                "channel_mixer and removes the GroupNorm. DySample groups = 4 (even scale)."),
        P("realplksr-x3-dysample", "RealPlksr", "neosr", NEOSR, "neosr_realplksr",
          dict(in_ch=3, out_ch=3, dim=16, n_blocks=2, upscaling_factor=3, kernel_size=13, split_ratio=0.25,
               use_ea=True, norm_groups=4, dropout=0, dysample=True),
          "zip", (10, 9), scale=3, deps=NEOSR_DEPS,
          notes="DySample with odd scale: groups = out_ch = 3 (27 channels, 9 per group)."),
    ]


def build_model(S, probe):
    h = dict(probe["hyper"])
    kind = probe["build"]
    if kind == "basicsr_rrdbnet":
        return S.basicsr_rrdbnet.RRDBNet(**h)
    if kind == "esrgan_rrdbnet":
        return S.esrgan_rrdbnet.RRDBNet(**h)
    if kind == "oldarch":
        return S.spandrel_rrdb.RRDBNet(**h)
    if kind == "srvgg":
        return S.realesrgan_srvgg.SRVGGNetCompact(**h)
    if kind == "span":
        h["rgb_mean"] = tuple(h["rgb_mean"])
        return S.span.SPAN(**h)
    if kind == "plksr":
        return S.plksr.PLKSR(**h)
    if kind == "neosr_realplksr":
        return S.neosr_realplksr.realplksr(**h)
    if kind == "trainner_realplksr":
        return S.trainner_realplksr.RealPLKSR(**h)
    raise ValueError(kind)


# ---------------------------------------------------------------------------------------------------------------
# Random weights. Convolutions: uniform(-a, a) with a = sqrt(3 / fan_in) (unit gain: features keep their scale);
# biases uniform(-0.1, 0.1); PReLU slopes uniform(0.05, 0.35); norm scales uniform(0.6, 1.4), shifts
# uniform(-0.2, 0.2). SPAN's first Conv3XC sees (x - mean) * 255, so its input-facing 1x1 weights (sk and conv.0)
# are divided by 255. DySample's init_pos buffer is a constant of the architecture (never trained; every real file
# holds the value the constructor computes) and keeps it.

CONSTANT_BUFFERS = ("init_pos",)


@torch.no_grad()
def randomize(model, probe):
    touched = set()
    for _, m in model.named_modules():
        if isinstance(m, nn.Conv2d):
            fan_in = m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
            a = (3.0 / fan_in) ** 0.5
            m.weight.uniform_(-a, a)
            touched.add(id(m.weight))
            if m.bias is not None:
                m.bias.uniform_(-0.1, 0.1)
                touched.add(id(m.bias))
        elif isinstance(m, nn.PReLU):
            m.weight.uniform_(0.05, 0.35)
            touched.add(id(m.weight))
        elif isinstance(m, nn.GroupNorm) or type(m).__name__ == "LayerNorm":
            m.weight.uniform_(0.6, 1.4)
            m.bias.uniform_(-0.2, 0.2)
            touched.update((id(m.weight), id(m.bias)))
    if probe["init"].get("span"):
        model.conv_1.sk.weight.div_(255.0)
        model.conv_1.conv[0].weight.div_(255.0)
    for name, t in list(model.named_parameters()) + list(model.named_buffers()):
        if id(t) not in touched and name.rsplit(".", 1)[-1] not in CONSTANT_BUFFERS:
            raise RuntimeError(f"{probe['name']}: no random values for {name}")


TORCH_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


@torch.no_grad()
def round_to_storage_dtype(model, dtype):
    if dtype == torch.float32:
        return
    for t in list(model.parameters()) + list(model.buffers()):
        if t.is_floating_point():
            t.copy_(t.to(dtype).to(torch.float32))


def stored_state_dict(model, dtype, prefix):
    """model.state_dict() as a checkpoint holds it: an OrderedDict with its _metadata (module versions), tensors
    cloned (SPAN's eval forward replaces eval_conv's values), cast to the storage dtype, keys prefixed."""
    sd = model.state_dict()
    out = collections.OrderedDict((prefix + k, v.detach().clone().to(dtype)) for k, v in sd.items())
    meta = getattr(sd, "_metadata", None)
    if meta is not None:
        p = prefix.rstrip(".")
        out._metadata = collections.OrderedDict(
            ((f"{p}.{k}" if k else p) if p else k, dict(v)) for k, v in meta.items())
        if p:
            out._metadata[""] = {"version": 1}
            out._metadata.move_to_end("", last=False)
    return out


# ---------------------------------------------------------------------------------------------------------------
# Writers

class _LegacyKeys:
    """Storage keys 0, 1, ... (pickling order) instead of the memory addresses torch's legacy writer uses, so that
    the files are the same on every run. Storages are written in that order too."""

    def __init__(self):
        self.keys = {}


def _make_pickle_module(legacy_keys=None, globals_override=None):
    """A pickle module for torch.save: the pure-Python Pickler (protocol 2, as torch uses), whose persistent ids can
    be renamed (legacy keys) and which can write chosen GLOBAL opcodes (hostile files)."""
    override = globals_override or {}

    class Pickler(pickle._Pickler):
        _torch_pid = None

        @property
        def persistent_id(self):
            def pid(obj):
                res = self._torch_pid(obj) if self._torch_pid else None
                if legacy_keys is not None and res is not None and res[0] == "storage":
                    res = list(res)
                    res[2] = legacy_keys.keys.setdefault(res[2], str(len(legacy_keys.keys)))
                    res = tuple(res)
                return res
            return pid

        @persistent_id.setter
        def persistent_id(self, fn):
            self._torch_pid = fn

        def save_global(self, obj, name=None):
            for target, (module, qualname) in override.items():
                if obj is target:
                    self.write(pickle.GLOBAL + module.encode() + b"\n" + qualname.encode() + b"\n")
                    self.memoize(obj)
                    return
            super().save_global(obj, name)

    def dump(obj, f, protocol=2):
        if legacy_keys is not None and isinstance(obj, list) and obj and all(k in legacy_keys.keys for k in obj):
            obj = [legacy_keys.keys[k] for k in obj]
        pickle.dump(obj, f, protocol=protocol)

    return types.SimpleNamespace(__name__="pickle", Pickler=Pickler, dump=dump)


@contextlib.contextmanager
def _legacy_storage_order(legacy_keys):
    # _legacy_save writes storages in sorted(key) order; sort by our renamed keys instead.
    import torch.serialization as ts
    ts.sorted = lambda keys: builtins.sorted(keys, key=lambda k: int(legacy_keys.keys[k]))
    try:
        yield
    finally:
        del ts.sorted


def torch_save(obj, path, fmt, globals_override=None):
    if fmt == "zip":
        torch.save(obj, str(path), pickle_module=_make_pickle_module(globals_override=globals_override))
    elif fmt == "legacy":
        keys = _LegacyKeys()
        with _legacy_storage_order(keys):
            torch.save(obj, str(path), pickle_module=_make_pickle_module(keys, globals_override),
                       _use_new_zipfile_serialization=False)
    else:
        raise ValueError(fmt)


ST_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}
ST_TORCH = {v: k for k, v in ST_DTYPES.items()}


def tensor_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    return t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()


def write_safetensors(path, sd, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name in sorted(sd):
        data = tensor_bytes(sd[name])
        header[name] = {"dtype": ST_DTYPES[sd[name].dtype], "shape": list(sd[name].shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = collections.OrderedDict()
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        chunk = data[b:end]
        if e["dtype"] == "BF16":
            t = torch.from_numpy(np.frombuffer(chunk, dtype="<i2").copy()).view(torch.bfloat16)
        else:
            t = torch.from_numpy(np.frombuffer(chunk, dtype={"F32": "<f4", "F16": "<f2"}[e["dtype"]]).copy())
        out[name] = t.reshape(e["shape"])
    return out


# ---------------------------------------------------------------------------------------------------------------
# Making and checking one probe

def seed_of(name):
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")


def make_probe(S, probe, out: Path):
    seed = seed_of(probe["name"])
    dtype = TORCH_DTYPES[probe["dtype"]]
    torch.manual_seed(seed)
    model = build_model(S, probe).eval()
    randomize(model, probe)
    round_to_storage_dtype(model, dtype)
    sd = stored_state_dict(model, dtype, probe["prefix"])  # before any forward (SPAN rewrites eval_conv)

    obj = sd
    if probe["wrapper"] == "params_ema" and probe["name"] == "esrgan-basicsr-x4":
        torch.manual_seed(seed + 1)
        other = build_model(S, probe).eval()
        randomize(other, probe)
        obj = {"params": stored_state_dict(other, dtype, probe["prefix"]), "params_ema": sd}
    elif probe["wrapper"]:
        obj = {probe["wrapper"]: sd}

    ext = ".safetensors" if probe["format"] == "safetensors" else ".pth"
    weights = out / (probe["name"] + ext)
    if probe["format"] == "safetensors":
        write_safetensors(weights, sd, {"format": "pt"})
    else:
        torch_save(obj, weights, probe["format"])

    torch.manual_seed(seed ^ 0x5EED)
    h, w = probe["size"]
    x = torch.rand(1, probe["in_ch"], h, w, dtype=torch.float32)
    with torch.no_grad():
        y = model(x.clone())
    s = probe["scale"]
    assert tuple(y.shape) == (1, probe["out_ch"], h * s, w * s), (probe["name"], tuple(y.shape))
    np.save(out / (probe["name"] + ".input.npy"), x.numpy().astype(np.float32))
    np.save(out / (probe["name"] + ".output.npy"), y.numpy().astype(np.float32))
    return model, x, y


def load_stored_weights(probe, path):
    if probe["format"] == "safetensors":
        obj = read_safetensors(path)
    else:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    if probe["wrapper"]:
        obj = obj[probe["wrapper"]]
    p = probe["prefix"]
    sd = collections.OrderedDict()
    for k, v in obj.items():
        assert k.startswith(p), k
        assert v.dtype == TORCH_DTYPES[probe["dtype"]], (k, v.dtype)
        sd[k[len(p):]] = v.to(torch.float32)
    return sd


def check_probe(S, probe, out: Path, entry):
    sd = load_stored_weights(probe, out / entry["file"])
    torch.manual_seed(12345)
    model = build_model(S, probe).eval()
    model.load_state_dict(sd, strict=True)
    x = torch.from_numpy(np.load(out / entry["input"]))
    y_ref = torch.from_numpy(np.load(out / entry["output"]))
    with torch.no_grad():
        y = model(x.clone())
    diff = (y - y_ref).abs().max().item()
    if diff > 1e-6:
        raise RuntimeError(f"{probe['name']}: reloaded output differs by {diff}")
    extra = ""
    if probe["build"] == "span":
        # The stored eval_conv tensors must be unrelated to the effective ones and must not matter.
        eff = {k: v for k, v in model.state_dict().items() if ".eval_conv." in k}  # recomputed by the forward
        worst = min((eff[k] - sd[k]).abs().max().item() for k in eff)
        assert worst > 1e-2, f"{probe['name']}: a stored eval_conv tensor matches its recomputed value"
        stale = build_model(S, probe).eval()
        stale.load_state_dict(sd, strict=True)
        for m in stale.modules():
            if hasattr(m, "update_params"):
                m.update_params = lambda: None
        with torch.no_grad():
            wrong = (stale(x.clone()) - y_ref).abs().max().item()
        assert wrong > 1e-2, probe["name"]
        extra = f"stored eval_conv used as is: max diff {wrong:.3g}"
    if probe["wrapper"] == "params_ema" and probe["name"] == "esrgan-basicsr-x4":
        other = build_model(S, probe).eval()
        other.load_state_dict(torch.load(str(out / entry["file"]), map_location="cpu", weights_only=True)["params"])
        with torch.no_grad():
            wrong = (other(x.clone()) - y_ref).abs().max().item()
        assert wrong > 1e-2
        extra = f"'params' instead of 'params_ema': max diff {wrong:.3g}"
    return diff, extra


# ---------------------------------------------------------------------------------------------------------------
# Hostile corpus

MARKER_COMMAND = "touch /tmp/mlnet-sr-hostile-marker"


class _Payload:
    """Pickles as GLOBAL <callable> + REDUCE(arg). Never unpickled by this script."""

    def __init__(self, fn, arg):
        self.fn, self.arg = fn, arg

    def __reduce__(self):
        return (self.fn, (self.arg,))


class _FakeStorage:
    """Pickled through persistent_id as ('storage', FloatStorage, key, 'cpu', numel) with a numel of our choice."""

    def __init__(self, key, numel):
        self.key, self.numel = key, numel


class _FakeTensor:
    def __init__(self, storage, size, stride):
        self.storage, self.size, self.stride = storage, size, stride

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2,
                (self.storage, 0, self.size, self.stride, False, collections.OrderedDict()))


def write_handmade_zip(path, obj, records):
    """A torch zip file written with torch's own writer: data.pkl pickled (protocol 2) with _FakeStorage persistent
    ids, and the given data/<key> records."""
    def pid(o):
        if isinstance(o, _FakeStorage):
            return ("storage", torch.FloatStorage, o.key, "cpu", o.numel)
        return None

    buf = io.BytesIO()
    p = pickle._Pickler(buf, protocol=2)
    p.persistent_id = pid
    p.dump(obj)
    writer = torch._C.PyTorchFileWriter(str(path))
    data = buf.getvalue()
    writer.write_record("data.pkl", data, len(data))
    for key, blob in records.items():
        writer.write_record(f"data/{key}", blob, len(blob))
    writer.write_end_of_file()
    del writer


def make_hostile(out: Path):
    out.mkdir(parents=True, exist_ok=True)
    entries = []

    def add(file, why):
        entries.append({"file": file, "why": why})

    g = torch.Generator().manual_seed(7)
    small = collections.OrderedDict([("conv.weight", torch.rand(4, 3, 3, 3, generator=g)),
                                     ("conv.bias", torch.rand(4, generator=g))])

    evil = collections.OrderedDict(small)
    evil["payload"] = _Payload(os.system, MARKER_COMMAND)
    torch_save(evil, out / "pickle-os-system.pth", "zip", {os.system: ("os", "system")})
    add("pickle-os-system.pth", "torch zip file whose data.pkl holds GLOBAL 'os system' + REDUCE('" + MARKER_COMMAND +
        "') next to two ordinary tensors; unpickling it would run the command.")
    torch_save(evil, out / "pickle-os-system-legacy.pth", "legacy", {os.system: ("os", "system")})
    add("pickle-os-system-legacy.pth", "The same payload in torch's legacy (non-zip) pickle format.")

    evil2 = collections.OrderedDict(small)
    evil2["payload"] = _Payload(eval, f"__import__('os').system('{MARKER_COMMAND}')")
    torch_save(evil2, out / "pickle-builtins-eval.pth", "zip", {eval: ("builtins", "eval")})
    add("pickle-builtins-eval.pth", "torch zip file whose data.pkl holds GLOBAL 'builtins eval' + REDUCE of a Python "
        "expression that would run the same command.")

    buf = io.BytesIO()
    torch.save(small, buf)
    valid = buf.getvalue()
    (out / "truncated-zip.pth").write_bytes(valid[: len(valid) * 6 // 10])
    add("truncated-zip.pth", f"The first 60% ({len(valid) * 6 // 10} of {len(valid)} bytes) of a valid torch zip "
        "state dict: no central directory, the last entry cut short.")

    stor = _FakeStorage("0", 16)
    write_handmade_zip(out / "storage-too-short.pth",
                       collections.OrderedDict([("conv.weight", _FakeTensor(stor, (64,), (1,)))]),
                       {"0": torch.rand(16, generator=g).numpy().astype("<f4").tobytes()})
    add("storage-too-short.pth", "Valid torch zip file: storage data/0 is 16 float32 (64 bytes, and its persistent "
        "id says numel 16), but the tensor conv.weight built on it has shape [64] (stride [1], offset 0).")

    huge = _FakeStorage("0", 10 ** 12)
    write_handmade_zip(out / "huge-shape.pth",
                       collections.OrderedDict([("conv.weight", _FakeTensor(huge, (1000000, 1000000),
                                                                            (1000000, 1)))]),
                       {"0": torch.rand(16, generator=g).numpy().astype("<f4").tobytes()})
    add("huge-shape.pth", "Valid torch zip file: tensor conv.weight has shape [1000000, 1000000] (10^12 elements, "
        "4 TB of float32) and its storage's persistent id claims numel 10^12, but data/0 holds 64 bytes. A reader "
        "must not allocate from these claims.")

    header = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    header += b" " * (-len(header) % 8)
    body = header + b"\0" * 16
    (out / "safetensors-header-past-end.safetensors").write_bytes(struct.pack("<Q", 1 << 20) + body)
    add("safetensors-header-past-end.safetensors", f"Header length field says 1048576 bytes; the file has "
        f"{8 + len(body)} bytes in all.")

    header = json.dumps({"w": {"dtype": "F32", "shape": [1024], "data_offsets": [0, 4096]}}).encode()
    header += b" " * (-len(header) % 8)
    (out / "safetensors-offsets-past-end.safetensors").write_bytes(
        struct.pack("<Q", len(header)) + header + b"\0" * 64)
    add("safetensors-offsets-past-end.safetensors", "Well-formed header whose tensor w (F32 [1024]) has "
        "data_offsets [0, 4096], but only 64 bytes of data follow the header.")

    torch.manual_seed(11)
    resnet = _TinyResNet()
    torch.save(resnet.state_dict(), str(out / "unknown-keys.pth"))
    add("unknown-keys.pth", "Valid torch zip state dict of a tiny ResNet-style image classifier (conv1, bn1 with "
        "running stats, layer1.0.conv1/bn1/conv2/bn2, fc): no super-resolution family matches its keys.")

    (out / "empty.pth").write_bytes(b"")
    add("empty.pth", "0 bytes.")

    from PIL import Image
    png = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(png, format="PNG")
    (out / "not-a-model.pth").write_bytes(png.getvalue())
    add("not-a-model.pth", "A 4x4 PNG image renamed to .pth.")

    (out / "manifest.json").write_text(json.dumps(entries, indent=2) + "\n")
    return entries


class _TinyResNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.layer1 = nn.Sequential(nn.Module())
        blk = self.layer1[0]
        blk.conv1 = nn.Conv2d(8, 8, 3, 1, 1, bias=False)
        blk.bn1 = nn.BatchNorm2d(8)
        blk.conv2 = nn.Conv2d(8, 8, 3, 1, 1, bias=False)
        blk.bn2 = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 10)


def check_hostile(out: Path):
    marker = Path("/tmp/mlnet-sr-hostile-marker")

    def pickle_globals(data):
        found = []
        for op, arg, _ in pickletools.genops(data):
            if op.name == "GLOBAL":
                found.append(arg.replace(" ", "."))
        return found

    for name, expect in (("pickle-os-system.pth", "os.system"), ("pickle-builtins-eval.pth", "builtins.eval")):
        with zipfile.ZipFile(out / name) as z:
            pkl = [n for n in z.namelist() if n.endswith("/data.pkl")]
            assert len(pkl) == 1, name
            assert expect in pickle_globals(z.read(pkl[0])), name
    data = (out / "pickle-os-system-legacy.pth").read_bytes()
    f = io.BytesIO(data)
    for _ in range(3):  # magic number, protocol version, sys info
        pickletools.dis(f, out=io.StringIO())
    start = f.tell()
    pickletools.dis(f, out=io.StringIO())
    assert "os.system" in pickle_globals(data[start:f.tell()])
    try:
        zipfile.ZipFile(out / "truncated-zip.pth")
        raise AssertionError("truncated-zip.pth opens as a zip")
    except zipfile.BadZipFile:
        pass
    try:
        torch.load(str(out / "storage-too-short.pth"), map_location="cpu", weights_only=True)
        raise AssertionError("torch accepted storage-too-short.pth")
    except (RuntimeError, pickle.UnpicklingError) as e:
        assert "resize storage" in str(e) or "out of bounds" in str(e), e
    with zipfile.ZipFile(out / "huge-shape.pth") as z:
        assert z.testzip() is None
    sd = torch.load(str(out / "unknown-keys.pth"), map_location="cpu", weights_only=True)
    assert "fc.weight" in sd and "bn1.running_mean" in sd
    assert not marker.exists(), "the marker file exists: something ran a payload"


# ---------------------------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sources", required=True, type=Path, help="folder with OWNER+NAME/ exports (see the top)")
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--export-from", type=Path, help="export the pinned files from MIRRORS/OWNER+NAME/repo first")
    args = ap.parse_args()

    if args.export_from:
        export_sources(args.export_from, args.sources)
    check_sources(args.sources)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    S = load_sources(args.sources)

    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    manifest = []
    for probe in probes():
        model, x, y = make_probe(S, probe, out)
        ext = ".safetensors" if probe["format"] == "safetensors" else ".pth"
        src_folder, src_path = probe["src"]
        entry = collections.OrderedDict(
            name=probe["name"], file=probe["name"] + ext, format=probe["format"], wrapper=probe["wrapper"],
            prefix=probe["prefix"], dtype=probe["dtype"], family=probe["family"], variant=probe["variant"],
            scale=probe["scale"], in_channels=probe["in_ch"], out_channels=probe["out_ch"], hyper=probe["hyper"],
            input=probe["name"] + ".input.npy", output=probe["name"] + ".output.npy",
            input_shape=list(x.shape), output_shape=list(y.shape),
            source=source_ref(src_folder, src_path),
            source_deps=[source_ref(f, p) for f, p in probe["deps"]],
            seed=seed_of(probe["name"]))
        if probe["notes"]:
            entry["notes"] = probe["notes"]
        manifest.append(entry)
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")

    hostile = make_hostile(out / "hostile")

    # Checks
    print(f"{'probe':28} {'family':9} {'variant':20} {'x':>2} {'format':11} {'wrapper':10} {'prefix':7} "
          f"{'dtype':8} {'input':12} {'output':12} {'|y|max':>7} {'bytes':>8}  reload")
    by_name = {p["name"]: p for p in probes()}
    for entry in manifest:
        probe = by_name[entry["name"]]
        diff, extra = check_probe(S, probe, out, entry)
        y = np.load(out / entry["output"])
        size = (out / entry["file"]).stat().st_size
        print(f"{entry['name']:28} {entry['family']:9} {entry['variant']:20} {entry['scale']:>2} "
              f"{entry['format']:11} {str(entry['wrapper']):10} {entry['prefix'] or '-':7} {entry['dtype']:8} "
              f"{'x'.join(map(str, entry['input_shape'][1:])):12} {'x'.join(map(str, entry['output_shape'][1:])):12} "
              f"{np.abs(y).max():7.3f} {size:8d}  {diff:.1e} {extra}")
    check_hostile(out / "hostile")
    print(f"hostile: {len(hostile)} files checked")
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"total size of {out}: {total} bytes ({total / 2 ** 20:.2f} MiB)")


if __name__ == "__main__":
    main()
