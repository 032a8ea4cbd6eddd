#!/usr/bin/python3
"""The PyTorch side of build/compare-pytorch.sh (run with Debian's /usr/bin/python3 and python3-torch 1.13).

PyTorch definitions of the networks that benchmarks/TorchCompare measures, written from the library's C# sources
(src/MLNet.SuperResolution/Architectures), with the same state_dict keys, so that the weights TorchCompare exports
load with strict=True. For each case it checks the outputs against ours (same weights, same input), times the
forward pass and one training step the same way, and counts the convolution FLOPs with forward hooks.

  compare_pytorch.py network --manifest DIR/NAME.json [--reps 10] [--warmup 2]   writes DIR/NAME.pytorch.json
  compare_pytorch.py summarize --dir DIR                                        prints the table, RATIO and PEAK lines

PyTorch here is a measuring stick, not a dependency of the library.
"""
import argparse
import glob
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------------------------------------------------------
# Fixed pre-upsampling: MATLAB imresize bicubic (docs/implementation-notes.md: cubic a = -0.5, u = i/s + (1 - 1/s)/2,
# borders clamped). Ours is two matrix products; Debian's PyTorch links a reference BLAS (~3.5 GFLOP/s for a matmul),
# which would make their side look slow for reasons that have nothing to do with the network, so here the same
# resize is computed as a polyphase convolution on a replicate-padded input (oneDNN), checked against the matrix form.


def _cubic(x):
    ax = abs(x)
    if ax <= 1:
        return 1.5 * ax ** 3 - 2.5 * ax ** 2 + 1
    if ax <= 2:
        return -0.5 * ax ** 3 + 2.5 * ax ** 2 - 4 * ax + 2
    return 0.0


def matlab_upscale_matrix(length, scale):
    """MATLAB imresize's bicubic weight matrix [length * scale, length] for an integer enlargement (float64)."""
    out = torch.zeros(length * scale, length, dtype=torch.float64)
    for i in range(1, length * scale + 1):
        u = i / scale + 0.5 * (1 - 1 / scale)
        left = math.floor(u - 2)
        weights = [(left + j, _cubic(u - (left + j))) for j in range(6)]
        total = sum(w for _, w in weights)
        for index, w in weights:
            out[i - 1, min(max(index, 1), length) - 1] += w / total
    return out


_PHASE_CACHE = {}


def _phase_kernels(scale, dtype, device):
    """[scale, 7] taps: output s*c + p = sum_d taps[p, d + 3] * x[c + d] (x clamped at the borders); cached per device."""
    key = (scale, dtype, str(device))
    if key not in _PHASE_CACHE:
        length = 16
        m = matlab_upscale_matrix(length, scale)
        c = length // 2
        taps = torch.stack([m[scale * c + p, c - 3:c + 4] for p in range(scale)])
        _PHASE_CACHE[key] = taps.to(device=device, dtype=dtype)
    return _PHASE_CACHE[key]


def _upscale_rows(x, scale):
    """[B, H, W] -> [B, H * scale, W] along H."""
    b, h, w = x.shape
    taps = _phase_kernels(scale, x.dtype, x.device).view(scale, 1, 7, 1)
    padded = F.pad(x.unsqueeze(1), (0, 0, 3, 3), mode="replicate")
    y = F.conv2d(padded, taps)                                  # [B, s, H, W]
    return y.permute(0, 2, 1, 3).reshape(b, h * scale, w)


def bicubic_upscale(x, scale):
    n, c, h, w = x.shape
    y = _upscale_rows(x.reshape(n * c, h, w), scale)               # [NC, sH, W]
    y = _upscale_rows(y.transpose(1, 2), scale).transpose(1, 2)    # [NC, sH, sW]
    return y.reshape(n, c, h * scale, w * scale)


def bicubic_upscale_matrix_form(x, scale):
    rows = matlab_upscale_matrix(x.shape[2], scale).to(x.dtype)
    cols = matlab_upscale_matrix(x.shape[3], scale).to(x.dtype).t()
    return rows.matmul(x).matmul(cols)


def bilinear_upscale(x, scale):
    return F.interpolate(x, scale_factor=scale, mode="bilinear", align_corners=False)


def pre_upsample(x, scale, mode):
    return bicubic_upscale(x, scale) if mode == "Bicubic" else bilinear_upscale(x, scale)


class Bilinear(nn.Module):
    def __init__(self, scale):
        super().__init__()
        self.scale = scale

    def forward(self, x):
        return bilinear_upscale(x, self.scale)


def conv(cin, cout, k, bias=True):
    """EDSR-PyTorch's default_conv: 'same' padding k // 2."""
    return nn.Conv2d(cin, cout, k, padding=k // 2, bias=bias)


# ---------------------------------------------------------------------------------------------------------------
# The networks (Architectures/*.cs); keys as there.


class Srcnn(nn.Module):
    def __init__(self, c, scale, preset):
        super().__init__()
        k2, self.mode = (5, "Bicubic") if preset == "Paper" else (1, "Bilinear")
        self.scale = scale
        self.conv1 = conv(c, 64, 9)
        self.conv2 = conv(64, 32, k2)
        self.conv3 = conv(32, c, 5)

    def forward(self, x):
        x = pre_upsample(x, self.scale, self.mode)
        return self.conv3(F.relu(self.conv2(F.relu(self.conv1(x)))))


class Fsrcnn(nn.Module):
    def __init__(self, c, scale, preset, d=56, s=12, m=4):
        super().__init__()
        self.first_part = nn.Sequential(conv(c, d, 5), nn.PReLU(d))
        mid = [conv(d, s, 1), nn.PReLU(s)]
        for _ in range(m):
            mid += [conv(s, s, 3), nn.PReLU(s)]
        mid += [conv(s, d, 1), nn.PReLU(d)]
        self.mid_part = nn.Sequential(*mid)
        if preset == "Paper":
            self.last_part = nn.ConvTranspose2d(d, c, 9, stride=scale, padding=4, output_padding=scale - 1)
        else:
            self.last_part = nn.Sequential(Bilinear(scale), conv(d, c, 9))

    def forward(self, x):
        return self.last_part(self.mid_part(self.first_part(x)))


class Espcn(nn.Module):
    def __init__(self, c, scale, preset):
        super().__init__()
        self.first_part = nn.Sequential(conv(c, 64, 5), nn.Tanh(), conv(64, 32, 3), nn.Tanh())
        self.last_part = nn.Sequential(conv(32, c * scale * scale, 3), nn.PixelShuffle(scale))

    def forward(self, x):
        return self.last_part(self.first_part(x))


class ConvRelu(nn.Module):
    def __init__(self, cin, cout, bias):
        super().__init__()
        self.conv = conv(cin, cout, 3, bias)

    def forward(self, x):
        return F.relu(self.conv(x))


class Vdsr(nn.Module):
    def __init__(self, c, scale, preset):
        super().__init__()
        layers = 20 if preset == "Paper" else 10
        self.scale = scale
        self.input = conv(c, 64, 3, bias=False)
        self.residual_layer = nn.Sequential(*[ConvRelu(64, 64, False) for _ in range(layers - 2)])
        self.output = conv(64, c, 3, bias=False)

    def forward(self, x):
        up = bicubic_upscale(x, self.scale)
        return self.output(self.residual_layer(F.relu(self.input(up)))) + up


DIV2K_MEAN = (0.4488, 0.4371, 0.4040)


class MeanShift(nn.Module):
    """A fixed 1x1 convolution (not counted as a convolution FLOP, as ours is a functional call)."""

    def __init__(self, c, rgb_range, sign):
        super().__init__()
        mean = DIV2K_MEAN if c == 3 else ((16 + 65.481 * DIV2K_MEAN[0] + 128.553 * DIV2K_MEAN[1] + 24.966 * DIV2K_MEAN[2]) / 255,)
        self.weight = nn.Parameter(torch.eye(c).view(c, c, 1, 1), requires_grad=False)
        self.bias = nn.Parameter(torch.tensor([sign * rgb_range * m for m in mean], dtype=torch.float32), requires_grad=False)

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias)


def upsampler(scale, f):
    layers = []
    if scale & (scale - 1) == 0:
        s = scale
        while s > 1:
            layers += [conv(f, 4 * f, 3), nn.PixelShuffle(2)]
            s //= 2
    elif scale == 3:
        layers += [conv(f, 9 * f, 3), nn.PixelShuffle(3)]
    return nn.Sequential(*layers)


class ScaledResidual(nn.Module):
    """x + res_scale * body(x); the body's parameters are under "body." as in the reference code, and like it the sum
    is taken in place (EDSR-PyTorch common.ResBlock / rcan.RCAB: `res += x`)."""

    def __init__(self, body, res_scale):
        super().__init__()
        self.body = body
        self.res_scale = res_scale

    def forward(self, x):
        r = self.body(x)
        if self.res_scale != 1.0:
            r = r.mul(self.res_scale)
        r += x
        return r


class ResBlock(ScaledResidual):
    def __init__(self, f, res_scale):
        super().__init__(nn.Sequential(conv(f, f, 3), nn.ReLU(True), conv(f, f, 3)), res_scale)


class CALayer(nn.Module):
    def __init__(self, f, reduction):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.conv_du = nn.Sequential(conv(f, f // reduction, 1), nn.ReLU(inplace=True), conv(f // reduction, f, 1), nn.Sigmoid())

    def forward(self, x):
        return x * self.conv_du(self.avg_pool(x))


class Rcab(ScaledResidual):
    def __init__(self, f, reduction, res_scale):
        super().__init__(nn.Sequential(conv(f, f, 3), nn.ReLU(True), conv(f, f, 3), CALayer(f, reduction)), res_scale)


class ResidualGroup(nn.Module):
    def __init__(self, blocks, f):
        super().__init__()
        self.body = nn.Sequential(*blocks, conv(f, f, 3))

    def forward(self, x):
        res = self.body(x)
        res += x
        return res


class MeanShifted(nn.Module):
    """EDSR / RCAN (MeanShiftedResidualNetwork.cs)."""

    def __init__(self, c, scale, f, blocks, rgb_range=255.0):
        super().__init__()
        self.rgb_range = rgb_range
        self.sub_mean = MeanShift(c, rgb_range, -1)
        self.head = nn.Sequential(conv(c, f, 3))
        self.body = nn.Sequential(*blocks, conv(f, f, 3))
        self.tail = nn.Sequential(upsampler(scale, f), conv(f, c, 3))
        self.add_mean = MeanShift(c, rgb_range, 1)

    def forward(self, x):
        x = x * self.rgb_range
        x = self.head(self.sub_mean(x))
        res = self.body(x)
        res += x
        return self.add_mean(self.tail(res)) / self.rgb_range


def edsr(c, scale, preset, baseline):
    if baseline:
        f, n, rs = 64, (16 if preset == "Paper" else 8), 1.0
    else:
        f, n, rs = (256, 32, 0.1) if preset == "Paper" else (64, 8, 0.1)
    return MeanShifted(c, scale, f, [ResBlock(f, rs) for _ in range(n)])


def rcan(c, scale, preset):
    groups, blocks = (10, 20) if preset == "Paper" else (3, 3)
    f = 64
    return MeanShifted(c, scale, f, [ResidualGroup([Rcab(f, 16, 1.0) for _ in range(blocks)], f) for _ in range(groups)])


class RdbConv(nn.Module):
    def __init__(self, cin, g, k):
        super().__init__()
        self.conv = nn.Sequential(conv(cin, g, k), nn.ReLU())

    def forward(self, x):
        return torch.cat((x, self.conv(x)), 1)


class Rdb(nn.Module):
    def __init__(self, g0, g, layers, k):
        super().__init__()
        self.convs = nn.Sequential(*[RdbConv(g0 + i * g, g, k) for i in range(layers)])
        self.LFF = conv(g0 + layers * g, g0, 1)

    def forward(self, x):
        return self.LFF(self.convs(x)) + x


class Rdn(nn.Module):
    def __init__(self, c, scale, preset, g0=64, g=64, k=3):
        super().__init__()
        d, layers = (16, 8) if preset == "Paper" else (3, 3)
        self.SFENet1 = conv(c, g0, k)
        self.SFENet2 = conv(g0, g0, k)
        self.RDBs = nn.ModuleList([Rdb(g0, g, layers, k) for _ in range(d)])
        self.GFF = nn.Sequential(conv(d * g0, g0, 1), conv(g0, g0, k))
        if preset == "Paper":
            if scale in (2, 3):
                up = [conv(g0, g * scale * scale, k), nn.PixelShuffle(scale)]
            else:
                up = [conv(g0, g * 4, k), nn.PixelShuffle(2), conv(g, g * 4, k), nn.PixelShuffle(2)]
            self.UPNet = nn.Sequential(*up, conv(g, c, k))
        else:
            self.UPNet = nn.Sequential(Bilinear(scale), conv(g0, c, k))

    def forward(self, x):
        shallow = self.SFENet1(x)
        x = self.SFENet2(shallow)
        outs = []
        for block in self.RDBs:
            x = block(x)
            outs.append(x)
        return self.UPNet(self.GFF(torch.cat(outs, 1)) + shallow)


class SrResBlock(nn.Module):
    def __init__(self, f):
        super().__init__()
        self.conv1 = conv(f, f, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(f)
        self.conv2 = conv(f, f, 3, bias=False)
        self.bn2 = nn.BatchNorm2d(f)

    def forward(self, x):
        y = F.leaky_relu(self.bn1(self.conv1(x)), 0.2)
        return self.bn2(self.conv2(y)) + x


class SrResNet(nn.Module):
    def __init__(self, c, scale, preset, f=64):
        super().__init__()
        blocks = 16 if preset == "Paper" else 8
        self.conv_input = conv(c, f, 9, bias=False)
        self.residual = nn.Sequential(*[SrResBlock(f) for _ in range(blocks)])
        self.conv_mid = conv(f, f, 3, bias=False)
        self.bn_mid = nn.BatchNorm2d(f)
        up = []
        for r in {2: [2], 3: [3], 4: [2, 2]}[scale]:
            up += [conv(f, r * r * f, 3, bias=False), nn.PixelShuffle(r), nn.LeakyReLU(0.2)]
        self.upscale4x = nn.Sequential(*up)
        self.conv_output = conv(f, c, 9, bias=False)

    def forward(self, x):
        features = F.leaky_relu(self.conv_input(x), 0.2)
        x = self.bn_mid(self.conv_mid(self.residual(features))) + features
        return self.conv_output(self.upscale4x(x))


# The community networks are not re-implemented here: their official code is imported, from the exported sources
# that build/make_community_probes.py describes (SR_REFERENCE_SOURCES, default /tmp/refs: OWNER+NAME/ folders at the
# pinned commits; `make_community_probes.py --sources DIR --export-from MIRRORS --out DIR/probes` exports them).
_OFFICIAL = None


def official():
    global _OFFICIAL
    if _OFFICIAL is None:
        from pathlib import Path
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import make_community_probes as probes
        root = Path(os.environ.get("SR_REFERENCE_SOURCES", "/tmp/refs"))
        probes.check_sources(root)
        _OFFICIAL = probes.load_sources(root)
    return _OFFICIAL


def esrgan(c, s, preset):
    """BasicSR's RRDBNet (Real-ESRGAN's): Paper = RealESRGAN_x4plus's 64 features, 23 blocks, growth 32."""
    f, b, g = {"Paper": (64, 23, 32), "Notes": (32, 3, 16)}[preset]
    return official().basicsr_rrdbnet.RRDBNet(num_in_ch=c, num_out_ch=c, scale=s, num_feat=f, num_block=b, num_grow_ch=g)


def compact(c, s, preset):
    """Real-ESRGAN's SRVGGNetCompact: Paper = realesr-general-x4v3's 64 features, 32 convolutions, PReLU."""
    f, n = {"Paper": (64, 32), "Notes": (32, 8)}[preset]
    return official().realesrgan_srvgg.SRVGGNetCompact(num_in_ch=c, num_out_ch=c, num_feat=f, num_conv=n, upscale=s, act_type="prelu")


BUILDERS = {
    "Esrgan": esrgan,
    "Compact": compact,
    "Srcnn": Srcnn,
    "Fsrcnn": Fsrcnn,
    "Espcn": Espcn,
    "Vdsr": Vdsr,
    "Edsr": lambda c, s, p: edsr(c, s, p, baseline=False),
    "EdsrBaseline": lambda c, s, p: edsr(c, s, p, baseline=True),
    "Rcan": rcan,
    "Rdn": Rdn,
    "SrResNet": SrResNet,
}

# ---------------------------------------------------------------------------------------------------------------


def count_conv_flops(model, x):
    """Convolution FLOPs of one forward, from hooks: 2 * Cin/groups * k*k * Cout * Hout*Wout per Conv2d; for a
    ConvTranspose2d the same with the input's H*W (the multiply-adds it performs; its output grid is stride^2 larger)."""
    total = [0]

    def conv_hook(m, inputs, output):
        kh, kw = m.kernel_size
        total[0] += 2 * (m.in_channels // m.groups) * kh * kw * m.out_channels * output.shape[2] * output.shape[3] * output.shape[0]

    def transposed_hook(m, inputs, output):
        kh, kw = m.kernel_size
        x_in = inputs[0]
        total[0] += 2 * (m.in_channels // m.groups) * kh * kw * m.out_channels * x_in.shape[2] * x_in.shape[3] * x_in.shape[0]

    handles = []
    for module in model.modules():
        if isinstance(module, nn.ConvTranspose2d):
            handles.append(module.register_forward_hook(transposed_hook))
        elif isinstance(module, nn.Conv2d):
            handles.append(module.register_forward_hook(conv_hook))
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return total[0]


def read_raw(manifest, key):
    shape = manifest[key + "_shape"]
    with open(manifest[key], "rb") as f:
        data = bytearray(f.read())
    return torch.frombuffer(data, dtype=torch.float32).reshape(shape).clone()


def time_ms(action, warmup, reps, device="cpu"):
    """Milliseconds per run; on a GPU each run ends with cuda.synchronize (kernels run asynchronously)."""
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    for _ in range(warmup):
        action()
    sync()
    result = []
    for _ in range(reps):
        start = time.perf_counter()
        action()
        sync()
        result.append((time.perf_counter() - start) * 1000)
    return result


def self_check_bicubic():
    """The polyphase convolution equals the MATLAB matrix form (which TorchSharp uses)."""
    torch.manual_seed(0)
    x = torch.rand(2, 3, 13, 17, dtype=torch.float64)
    for s in (2, 3, 4):
        diff = (bicubic_upscale(x, s) - bicubic_upscale_matrix_form(x, s)).abs().max().item()
        if diff > 1e-12:
            raise SystemExit(f"bicubic self-check failed at x{s}: {diff}")


def run_network(args):
    with open(args.manifest) as f:
        m = json.load(f)
    torch.set_num_threads(m["threads"])
    self_check_bicubic()
    c, s = m["channels"], m["scale"]
    model = BUILDERS[m["architecture"]](c, s, m["preset"])
    state = torch.load(m["weights"])
    model.load_state_dict(state, strict=True)
    model.eval()
    device = m.get("device", "cpu")  # TorchCompare network --device cuda: both sides on the GPU
    x = read_raw(m, "input")
    probe = read_raw(m, "probe_input")
    result = {"case": m["case"], "torch": torch.__version__, "threads": torch.get_num_threads(), "device": device}

    # Outputs: ours vs theirs on the full input; on the small probe, each against a float64 forward.
    with torch.no_grad():
        model.to(device)
        theirs = model(x.to(device)).cpu()
        ours = read_raw(m, "output")
        result["max_abs_diff"] = (theirs - ours).abs().max().item()
        result["output_max_abs"] = ours.abs().max().item()
        probe32 = model(probe.to(device)).cpu()
        model.cpu()
        model64 = BUILDERS[m["architecture"]](c, s, m["preset"]).double()
        model64.load_state_dict(state, strict=True)
        model64.eval()
        probe64 = model64(probe.double())
        result["probe_ours_vs_f64"] = (read_raw(m, "probe_output").double() - probe64).abs().max().item()
        result["probe_theirs_vs_f64"] = (probe32.double() - probe64).abs().max().item()
        del model64

    result["flops_forward"] = count_conv_flops(model, x)
    model.to(device)
    x = x.to(device)

    def forward():
        with torch.no_grad():
            model(x)

    result["forward_ms"] = time_ms(forward, args.warmup, args.reps, device)

    x_cl = x.contiguous(memory_format=torch.channels_last)  # the same input in NHWC strides, weights as loaded

    def forward_cl():
        with torch.no_grad():
            model(x_cl)

    result["forward_cl_ms"] = time_ms(forward_cl, args.warmup, args.reps, device)

    lr, hr = read_raw(m, "train_lr").to(device), read_raw(m, "train_hr").to(device)
    model.train()
    adam = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    losses = []

    def step():
        # On the CPU zeroed in place, as our optimizer does there (measured: no difference either way); on a GPU set to
        # none, PyTorch's default and ours there (MultiTensor.Adam.zero_grad).
        adam.zero_grad(set_to_none=not device.startswith("cpu"))
        loss = F.l1_loss(model(lr), hr)
        loss.backward()
        adam.step()
        losses.append(loss.item())

    result["train_ms"] = time_ms(step, args.warmup, args.train_reps or args.reps, device)  # loss.item() synchronizes too
    result["train_loss0"] = losses[0]
    out = args.manifest[:-len(".json")] + ".pytorch.json"
    with open(out, "w") as f:
        json.dump(result, f, indent=1)
    print(f"{m['case']}: PyTorch {torch.__version__} forward median {statistics.median(result['forward_ms']):.1f} ms, "
          f"train median {statistics.median(result['train_ms']):.1f} ms, max |ours - theirs| {result['max_abs_diff']:.2e}")


def summarize(args):
    d = args.dir
    with open(os.path.join(d, "ceiling.json")) as f:
        ceiling = json.load(f)
    peak = ceiling["matmul_gflops"]
    print(f"Ceiling (TorchSharp / libtorch, {ceiling['threads']} threads): float32 matmul {ceiling['matmul_n']}^2 "
          f"{peak:.1f} GFLOP/s (median of {len(ceiling['matmul_ms'])}); one 3x3 64->64 conv on 256^2 "
          f"{ceiling['conv3x3_64_256_gflops']:.1f} GFLOP/s")
    print()
    # One directory per round (--rounds N) or the results directory itself; a case's figures are the median over
    # rounds of each process's median.
    rounds = sorted(glob.glob(os.path.join(d, "round-*"))) or [d]
    by_case = {}
    for r in rounds:
        for path in sorted(glob.glob(os.path.join(r, "*.pytorch.json"))):
            with open(path) as f:
                theirs = json.load(f)
            with open(path.replace(".pytorch.json", ".json")) as f:
                ours = json.load(f)
            by_case.setdefault(ours["case"], []).append((ours, theirs))
    cases = []
    for runs in by_case.values():
        ours, theirs = dict(runs[0][0]), dict(runs[0][1])
        for key in ("forward_ms", "train_ms", "forward_cl_ms"):
            if all(key in o and key in t for o, t in runs):  # results of an older script lack forward_cl_ms
                ours[key] = [statistics.median(o[key]) for o, _ in runs]
                theirs[key] = [statistics.median(t[key]) for _, t in runs]
        ours["rounds"] = len(runs)
        cases.append((ours, theirs))
    if len(rounds) > 1:
        print(f"{len(rounds)} rounds: each figure is the median over rounds of each process's median")
        print()
    order = args.order.split(",") if args.order else []
    cases.sort(key=lambda p: order.index(p[0]["case"]) if p[0]["case"] in order else len(order))

    header = ("| network | LR in | params | GFLOP/fwd | ours fwd ms | PyTorch fwd ms | fwd ratio | ours train ms | "
              "PyTorch train ms | train ratio | ours GFLOP/s | peak frac | max abs diff | probe ours/theirs vs f64 | loss0 diff |")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    lines = []
    layout_lines = []
    notes = []
    for ours, theirs in cases:
        name = ours["case"]
        of, tf = statistics.median(ours["forward_ms"]), statistics.median(theirs["forward_ms"])
        ot, tt = statistics.median(ours["train_ms"]), statistics.median(theirs["train_ms"])
        gflop = theirs["flops_forward"] / 1e9
        achieved = gflop / (of / 1000)
        frac = achieved / peak
        lr = ours["lr_size"]
        loss_diff = abs(ours["train_loss0"] - theirs["train_loss0"])
        print(f"| {name} | {lr}x{lr} | {ours['parameters']:,} | {gflop:.2f} | {of:.1f} | {tf:.1f} | {of / tf:.3f} | {ot:.1f} | "
              f"{tt:.1f} | {ot / tt:.3f} | {achieved:.1f} | {frac:.3f} | {theirs['max_abs_diff']:.2e} | "
              f"{theirs['probe_ours_vs_f64']:.1e} / {theirs['probe_theirs_vs_f64']:.1e} | {loss_diff:.1e} |")
        rel = theirs["max_abs_diff"] / max(theirs["output_max_abs"], 1e-12)
        if theirs["max_abs_diff"] > 1e-4:
            wrong = []
            if theirs["probe_ours_vs_f64"] > 1e-4:
                wrong.append("ours is off float64")
            if theirs["probe_theirs_vs_f64"] > 1e-4:
                wrong.append("PyTorch 1.13 is off float64")
            notes.append(f"DISAGREE {name}: max |ours - theirs| {theirs['max_abs_diff']:.3e} (relative {rel:.2e}); "
                         f"on the probe: {', '.join(wrong) or 'both within 1e-4 of float64 (differences grow with the input size)'}")
        if lr != 256:
            est = gflop * (256 / lr) ** 2 / achieved
            notes.append(f"{name}: forward measured on {lr}x{lr} LR (a 256x256 forward would take about {est:.1f} s here)")
        lines.append(f"RATIO {name} forward {of / tf:.3f}")
        lines.append(f"RATIO {name} train {ot / tt:.3f}")
        if "forward_cl_ms" in ours:
            ocl, tcl = statistics.median(ours["forward_cl_ms"]), statistics.median(theirs["forward_cl_ms"])
            layout_lines.append(f"LAYOUT {name} forward-channels-last {ocl / tcl:.3f} ({ocl:.1f} / {tcl:.1f} ms)")
            layout_lines.append(f"LAYOUT {name} forward-defaults {ocl / tf:.3f} (ours channels-last {ocl:.1f} / PyTorch NCHW {tf:.1f} ms)")

    pipelines = {}
    for r in rounds:
        for path in sorted(glob.glob(os.path.join(r, "pipeline-*.json"))):
            with open(path) as f:
                p = json.load(f)
            pipelines.setdefault(p["case"], []).append(p)
    for runs in pipelines.values():
        p = runs[0]
        pm = statistics.median(statistics.median(q["pipeline_ms"]) for q in runs)
        rm = statistics.median(statistics.median(q["raw_forward_ms"]) for q in runs)
        # The pipeline and the raw forward of a round come from one process, interleaved: the ratio is taken per round
        # (then the median over rounds), not across rounds' medians, which would pair one process's pipeline with
        # another's raw forward.
        ratios = [statistics.median(q["pipeline_ms"]) / statistics.median(q["raw_forward_ms"]) for q in runs]
        ratio = statistics.median(ratios)
        print()
        print(f"Pipeline {p['case']}: Transform + read of {p['images']} images of {p['size']}x{p['size']}: median {pm:.1f} ms; "
              f"raw forward on the same tensors {rm:.1f} ms; overhead {100 * (ratio - 1):+.1f}%"
              + (f" (per round: {', '.join(f'{r:.3f}' for r in ratios)})" if len(ratios) > 1 else ""))
        lines.append(f"RATIO {p['case']} pipeline {ratio:.3f}")
    print()
    for n in notes:
        print(n)
    if notes:
        print()
    if layout_lines:
        # The same forward with the input in channels-last strides on both sides, and each side's default inference layout
        # (ours: SrUpscaler on the CPU runs channels-last; PyTorch's reference code runs NCHW).
        for line in layout_lines:
            print(line)
        print()
    for line in lines:
        print(line)
    for ours, theirs in cases:
        of = statistics.median(ours["forward_ms"])
        print(f"PEAK {ours['case']} {theirs['flops_forward'] / 1e9 / (of / 1000) / peak:.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    n = sub.add_parser("network")
    n.add_argument("--manifest", required=True)
    n.add_argument("--reps", type=int, default=10)
    n.add_argument("--train-reps", type=int, default=0)
    n.add_argument("--warmup", type=int, default=2)
    s = sub.add_parser("summarize")
    s.add_argument("--dir", required=True)
    s.add_argument("--order", default="")
    args = parser.parse_args()
    if args.command == "network":
        run_network(args)
    else:
        summarize(args)


if __name__ == "__main__":
    main()
