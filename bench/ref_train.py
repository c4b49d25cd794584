#!/usr/bin/python3
"""PyTorch CPU reference for bench/bench_train.sh: one (or more) epochs of the
same architecture, batch, optimizer and thread count as `deepcx train` on
Fashion-MNIST, timing the training loop only (like deepcx's samples/s).
usage: ref_train.py ARCH THREADS [EPOCHS] [BATCH]   ARCH: mlp:W,W,... or cnn:<deepcx tokens>
Prints: samples_per_sec=<wall> samples_per_cpu_sec=<process CPU time> test_acc=<y>"""
import gzip, re, sys, time
import numpy as np
import torch
import torch.nn as nn

arch, threads = sys.argv[1], int(sys.argv[2])
epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 1
batch = int(sys.argv[4]) if len(sys.argv) > 4 else 128
torch.set_num_threads(threads)
torch.manual_seed(1)
D = "/usr/share/datasets/fashion-mnist/"

def idx(name):
    with gzip.open(D + name) as f:
        data = f.read()
    if data[2] == 8 and data[3] == 3:
        n, r, c = np.frombuffer(data[4:16], dtype=">i4")
        return np.frombuffer(data[16:], dtype=np.uint8).reshape(n, 1, r, c).astype(np.float32) / 255
    return np.frombuffer(data[8:], dtype=np.uint8).astype(np.int64)

xtr, ytr = idx("train-images-idx3-ubyte.gz"), idx("train-labels-idx1-ubyte.gz")
xte, yte = idx("t10k-images-idx3-ubyte.gz"), idx("t10k-labels-idx1-ubyte.gz")
m, s = xtr.mean(), xtr.std()
xtr, xte = torch.from_numpy((xtr - m) / s), torch.from_numpy((xte - m) / s)
ytr, yte = torch.from_numpy(ytr), torch.from_numpy(yte)

kind, spec = arch.split(":", 1)
layers, c, h, w, flat = [], 1, 28, 28, False
if kind == "mlp":
    layers.append(nn.Flatten())
    feat = 784
    for t in spec.split(","):
        layers += [nn.Linear(feat, int(t)), nn.ReLU()]
        feat = int(t)
else:
    for t in spec.split(","):
        mm = re.fullmatch(r"c(\d+)k(\d+)(?:p(\d+))?(?:s(\d+))?", t)
        if mm:
            oc, k, p, st = int(mm[1]), int(mm[2]), int(mm[3] or 0), int(mm[4] or 1)
            layers += [nn.Conv2d(c, oc, k, stride=st, padding=p), nn.ReLU()]
            c, h, w = oc, (h + 2 * p - k) // st + 1, (w + 2 * p - k) // st + 1
        elif t.startswith("pool"):
            k = int(t[4:])
            layers.append(nn.MaxPool2d(k))
            h, w = h // k, w // k
        elif t.startswith("fc"):
            if not flat:
                layers.append(nn.Flatten())
                flat, feat = True, c * h * w
            layers += [nn.Linear(feat, int(t[2:])), nn.ReLU()]
            feat = int(t[2:])
    if not flat:
        layers.append(nn.Flatten())
        feat = c * h * w
layers.append(nn.Linear(feat, 10))
net = nn.Sequential(*layers)
opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
lossf = nn.CrossEntropyLoss()
n = xtr.shape[0]
train_time = cpu_time = 0.0
for ep in range(epochs):
    perm = torch.randperm(n)
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(0, n, batch):
        idx_ = perm[i:i + batch]
        opt.zero_grad()
        loss = lossf(net(xtr[idx_]), ytr[idx_])
        loss.backward()
        opt.step()
    train_time += time.perf_counter() - t0
    cpu_time += time.process_time() - c0
with torch.no_grad():
    acc = (net(xte).argmax(1) == yte).float().mean().item()
print(f"samples_per_sec={epochs * n / train_time:.1f} samples_per_cpu_sec={epochs * n / cpu_time:.1f} "
      f"test_acc={acc:.4f}")
