#!/usr/bin/env python3
"""Training throughput of the classic PyTorch VAE example, for a back-to-back comparison
with `vae-train --encoder-hidden 400 --decoder-hidden 400 --encoder-activation relu
--prior-components 0 --no-int8-eval --no-pictures` (docs/PERFORMANCE.md, training).

The model, loss and optimiser of pytorch/examples `vae/main.py` (784-400-20 encoder,
20-400-784 decoder, BCE summed over pixels + analytic KL, Adam 1e-3, batch 128, shuffled),
with MNIST read from the IDX files directly (no torchvision) and held in memory as one
float tensor, as vae-train does. Prints samples/s of the training loop per epoch.

    python3 scripts/pytorch_vae_bench.py --data-dir DIR --epochs 3

`--data-dir` defaults to vae-train's: $VAE_MNIST_DIR if set, else its cache folder
($XDG_CACHE_HOME/vae/mnist, default ~/.cache/vae/mnist).

Needs `torch` and `numpy` (pip install torch numpy); not used by the build or the tests.
"""
import argparse, gzip, os, time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


def idx_images(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    n, rows, cols = (int.from_bytes(data[i:i + 4], "big") for i in (4, 8, 12))
    return np.frombuffer(data, np.uint8, offset=16).reshape(n, rows * cols)


class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def forward(self, x):
        h1 = F.relu(self.fc1(x))
        mu, logvar = self.fc21(h1), self.fc22(h1)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.fc4(F.relu(self.fc3(z))), mu, logvar


def default_data_dir():
    """vae-train's MNIST folder: $VAE_MNIST_DIR, else its cache folder."""
    if os.environ.get("VAE_MNIST_DIR"):
        return os.environ["VAE_MNIST_DIR"]
    cache = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(cache):  # empty or relative: ignored, as vae-train does
        cache = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "vae", "mnist")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=default_data_dir(),
                   help="MNIST IDX files (default: $VAE_MNIST_DIR, else vae-train's cache folder)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=128)
    args = p.parse_args()
    name = "train-images-idx3-ubyte"
    path = os.path.join(args.data_dir, name + ".gz")
    if not os.path.exists(path):
        path = os.path.join(args.data_dir, name)
    x = torch.from_numpy(idx_images(path).astype(np.float32) / 255.0)
    torch.manual_seed(1)
    model = VAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {len(x)} images")
    for epoch in range(1, args.epochs + 1):
        order = torch.randperm(len(x))
        total, t0 = 0.0, time.perf_counter()
        for i in range(0, len(x), args.batch_size):
            batch = x[order[i:i + args.batch_size]]
            opt.zero_grad()
            logits, mu, logvar = model(batch)
            # The example's loss: BCE (on sigmoid outputs, here in its logits form) + KL.
            bce = F.binary_cross_entropy_with_logits(logits, batch, reduction="sum")
            kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
            loss = bce + kld
            loss.backward()
            opt.step()
            total += loss.item()
        secs = time.perf_counter() - t0
        print(f"epoch {epoch}: train loss {total / len(x):.3f}, {secs:.2f} s, "
              f"{len(x) / secs:.0f} samples/s")


if __name__ == "__main__":
    main()
