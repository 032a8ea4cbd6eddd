#!/usr/bin/python3
"""End-to-end check of community-model detection on configurations the tests never saw.

For each family of docs/community-models.md, draws random configurations (hyper-parameters, scale, image channels,
file format, wrapper, key prefix, stored dtype) within what the official code allows, builds each with the official
PyTorch code (imported as build/make_community_probes.py imports it, from SR_REFERENCE_SOURCES), gives it random
weights, saves it as a community file, and writes a PNG. PyTorch's output is the official forward on the PNG's
values / 255 (a 1-channel model gets the grayscale PNG's values), clamped and rounded to 8 bits. Then

    sr upscale IN.png --model FILE -o OUT.png

runs with nothing else said, and OUT.png is compared with PyTorch's: the largest difference in 8-bit levels per
file. Nothing is committed: the files live in a temporary folder.

    /usr/bin/python3 build/check_unseen_configurations.py --sr "dotnet src/MLNet.SuperResolution.Cli/bin/Release/net10.0/sr.dll" \
        [--per-family 6] [--seed 1] [--sources /tmp/refs] [--keep DIR]

Exit status 1 when any file is not detected or differs by more than --tolerance levels (default 2).
"""
import argparse
import os
import random
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_community_probes as probes  # noqa: E402

SPAN_MEAN = probes.SPAN_MEAN


def esrgan_basicsr(r):
    scale = r.choice([1, 2, 4])
    ch = r.choice([3, 3, 3, 1])
    return ("Esrgan", "basicsr_rrdbnet", probes.ESRGAN_RRDB, [],
            dict(num_in_ch=ch, num_out_ch=ch, scale=scale, num_feat=r.choice([8, 16, 24, 32]),
                 num_block=r.choice([1, 2, 3]), num_grow_ch=r.choice([4, 8, 12, 32])), scale, ch, {})


def esrgan_bsrgan(r):
    return ("Esrgan", "esrgan_rrdbnet", ("xinntao+ESRGAN", "RRDBNet_arch.py"), [],
            dict(in_nc=3, out_nc=3, nf=r.choice([8, 16, 24]), nb=r.choice([1, 2, 3]), gc=r.choice([8, 16, 32])), 4, 3, {})


def esrgan_oldarch(r):
    scale = r.choice([1, 2, 4, 8])
    ch = r.choice([3, 3, 1])
    return ("Esrgan", "oldarch", probes.OLDARCH, probes.OLDARCH_DEPS,
            dict(in_nc=ch, out_nc=ch, num_filters=r.choice([8, 16, 20]), num_blocks=r.choice([1, 2]), scale=scale,
                 plus=r.random() < 0.3), scale, ch, {})


def compact(r):
    scale = r.choice([1, 2, 3, 4])
    ch = r.choice([3, 3, 1])
    return ("Compact", "srvgg", ("xinntao+Real-ESRGAN", "realesrgan/archs/srvgg_arch.py"), [],
            dict(num_in_ch=ch, num_out_ch=ch, num_feat=r.choice([8, 16, 24, 48]), num_conv=r.choice([1, 2, 5, 8]),
                 upscale=scale, act_type="prelu"), scale, ch, {})


def span(r):
    scale = r.choice([1, 2, 3, 4])
    return ("Span", "span", ("hongyuanyu+SPAN", "basicsr/archs/span_arch.py"), [],
            dict(num_in_ch=3, num_out_ch=3, feature_channels=r.choice([12, 16, 24, 48]), upscale=scale, bias=True,
                 img_range=255.0, rgb_mean=SPAN_MEAN), scale, 3, dict(span=True))


def plksr(r):
    scale = r.choice([1, 2, 3, 4])
    lk = r.choice(["PLK", "PLK", "RectSparsePLK", "SparsePLK"])
    kernel = {"PLK": r.choice([7, 9, 13, 17]), "RectSparsePLK": r.choice([9, 15, 21]), "SparsePLK": 13}[lk]
    split = r.choice([0.25, 0.5]) if lk != "SparsePLK" else 0.25
    return ("Plksr", "plksr", ("dslisleedh+PLKSR", "plksr/archs/plksr_arch.py"), [],
            dict(dim=r.choice([16, 32]), n_blocks=r.choice([1, 2, 3]), upscaling_factor=scale,
                 ccm_type=r.choice(["CCM", "ICCM", "DCCM"]), kernel_size=kernel, split_ratio=split, lk_type=lk,
                 use_max_kernel=False, with_idt=False, use_ea=r.random() < 0.5, is_coreml=False), scale, 3, {})


def realplksr_neosr(r):
    scale = r.choice([1, 2, 3, 4])
    return ("RealPlksr", "neosr_realplksr", probes.NEOSR, probes.NEOSR_DEPS,
            dict(in_ch=3, out_ch=3, dim=r.choice([16, 32]), n_blocks=r.choice([1, 2, 3]), upscaling_factor=scale,
                 kernel_size=r.choice([9, 13, 17]), split_ratio=r.choice([0.25, 0.5]), use_ea=r.random() < 0.5,
                 norm_groups=4, dropout=0, dysample=scale > 1 and r.random() < 0.5), scale, 3, {})


def realplksr_trainner(r):
    scale = r.choice([2, 3, 4])
    return ("RealPlksr", "trainner_realplksr", ("the-database+traiNNer-redux", "traiNNer/archs/realplksr_arch.py"),
            [("chaiNNer-org+spandrel", "libs/spandrel/spandrel/architectures/__arch_helpers/dysample.py")],
            dict(in_ch=3, out_ch=3, dim=r.choice([16, 32]), n_blocks=r.choice([1, 2]), upscaling_factor=scale,
                 kernel_size=r.choice([9, 13]), split_ratio=0.25, use_ea=True, norm_groups=4, dropout=0,
                 upsampler=r.choice(["dysample", "pixelshuffle"]), layer_norm=r.random() < 0.5), scale, 3, {})


FAMILIES = [esrgan_basicsr, esrgan_bsrgan, esrgan_oldarch, compact, span, plksr, realplksr_neosr, realplksr_trainner]


def image(r, width, height, channels):
    """A smooth random picture with some texture, 8-bit."""
    rng = np.random.default_rng(r.randrange(1 << 30))
    coarse = rng.integers(0, 256, size=(5, 6, 3), dtype=np.uint8)
    base = np.asarray(Image.fromarray(coarse).resize((width, height), Image.BICUBIC), dtype=np.float32)
    base = np.clip(base + rng.normal(0, 12, size=base.shape), 0, 255).astype(np.uint8)
    picture = Image.fromarray(base)
    return picture.convert("L") if channels == 1 else picture


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sr", required=True, help="the command that runs the sr tool")
    ap.add_argument("--per-family", type=int, default=6)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sources", default=os.environ.get("SR_REFERENCE_SOURCES", "/tmp/refs"))
    ap.add_argument("--tolerance", type=int, default=2)
    ap.add_argument("--keep", help="write the files here (default: a temporary folder, removed)")
    args = ap.parse_args()

    root = Path(args.sources)
    probes.check_sources(root)
    S = probes.load_sources(root)
    r = random.Random(args.seed)
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="sr-unseen-"))
    folder.mkdir(parents=True, exist_ok=True)
    sr = shlex.split(args.sr)
    failures, rows = 0, []
    for family in FAMILIES:
        for i in range(args.per_family):
            name, build, src, deps, hyper, scale, ch, init = family(r)
            name_of_case = f"{family.__name__}-{i}"
            fmt = r.choice(["zip", "zip", "legacy", "safetensors"])
            dtype = r.choice(["float32", "float32", "float16", "bfloat16"])
            wrapper = None if fmt == "safetensors" else r.choice([None, "params_ema", "params", "state_dict", "model", "net"])
            prefix = r.choice(["", "", "module."])
            probe = dict(name=name_of_case, build=build, hyper=hyper, init=init)
            torch.manual_seed(r.randrange(1 << 30))
            model = probes.build_model(S, probe).eval()
            probes.randomize(model, probe)
            probes.round_to_storage_dtype(model, probes.TORCH_DTYPES[dtype])
            sd = probes.stored_state_dict(model, probes.TORCH_DTYPES[dtype], prefix)
            weights = folder / (name_of_case + (".safetensors" if fmt == "safetensors" else ".pth"))
            if fmt == "safetensors":
                probes.write_safetensors(weights, sd, {"format": "pt"})
            else:
                probes.torch_save({wrapper: sd} if wrapper else sd, weights, fmt)

            # BasicSR's x1/x2 RRDBNet unshuffles (sizes multiples of 4 / 2); the others take any size.
            width, height = (r.choice([24, 28, 32]), r.choice([20, 24])) if build == "basicsr_rrdbnet" and scale < 4 \
                else (r.randrange(17, 33), r.randrange(15, 29))
            picture = image(r, width, height, ch)
            source = folder / (name_of_case + ".png")
            picture.save(source)
            x = torch.from_numpy(np.asarray(picture, dtype=np.float32) / 255.0)
            x = x[None, None] if ch == 1 else x.permute(2, 0, 1)[None]
            with torch.no_grad():
                y = model(x.contiguous())
            expected = (y.clamp(0, 1) * 255).round().to(torch.uint8)[0].permute(1, 2, 0).numpy()

            result = folder / (name_of_case + ".out.png")
            start = time.time()
            run = subprocess.run(sr + ["upscale", str(source), "--model", str(weights), "-o", str(result)],
                                 capture_output=True, text=True)
            seconds = time.time() - start
            label = f"{name_of_case} ({fmt}, {dtype}, {wrapper or 'bare'}, '{prefix}') {build} x{scale} {ch}ch {hyper}"
            if run.returncode != 0:
                failures += 1
                rows.append(f"FAIL  {label}: exit {run.returncode}: {(run.stderr or run.stdout).strip()[-400:]}")
                continue
            ours = np.asarray(Image.open(result).convert("RGB"), dtype=np.int16)
            ref = expected.astype(np.int16)
            if ref.shape[2] == 1:
                ref = np.repeat(ref, 3, axis=2)
            if ours.shape != ref.shape:
                failures += 1
                rows.append(f"FAIL  {label}: output {ours.shape}, PyTorch {ref.shape}")
                continue
            worst = int(np.abs(ours - ref).max())
            ok = worst <= args.tolerance
            failures += 0 if ok else 1
            rows.append(f"{'ok  ' if ok else 'FAIL'}  {label}: max {worst} level(s), {seconds:.1f} s")
            print(rows[-1], flush=True)
    print()
    bad = [row for row in rows if row.startswith("FAIL")]
    for row in bad:
        print(row)
    print(f"{len(rows) - len(bad)} of {len(rows)} files within {args.tolerance} levels of PyTorch's output"
          + (f" (files in {folder})" if args.keep else ""))
    if not args.keep:
        shutil.rmtree(folder)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
