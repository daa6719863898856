#!/usr/bin/env python3
"""DistributedDataParallel training on synthetic data: NCCL on GPUs, gloo on CPU.

Each process trains on its own shard of data; DDP averages the gradients, so every rank must
end with identical parameters, which the script checks (exit 1 if not, or if the loss did not
fall). Launch it with torchrun, one process per GPU:

    torchrun --nproc_per_node=auto ddp_train.py [--steps 200]
"""

import argparse
import hashlib
import os
import sys

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

INPUT_FEATURES = 32
BATCH_SIZE = 64


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    arguments = parser.parse_args()

    use_cuda = torch.cuda.is_available()
    backend = "nccl" if use_cuda else "gloo"
    dist.init_process_group(backend)
    rank, world_size = dist.get_rank(), dist.get_world_size()
    local_rank = int(os.environ["LOCAL_RANK"])
    device = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(device)
    if rank == 0:
        print(f"backend {backend}, world size {world_size}, device {device.type}", flush=True)

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(INPUT_FEATURES, 64), nn.ReLU(), nn.Linear(64, 1)).to(device)
    ddp_model = DistributedDataParallel(model, device_ids=[local_rank] if use_cuda else None)
    optimizer = torch.optim.SGD(ddp_model.parameters(), lr=0.05)

    teacher = torch.randn(INPUT_FEATURES, 1, generator=torch.Generator().manual_seed(1))
    shard = torch.Generator().manual_seed(1000 + rank)
    losses = []
    for step in range(arguments.steps):
        inputs = torch.randn(BATCH_SIZE, INPUT_FEATURES, generator=shard)
        targets = inputs @ teacher + 0.1 * torch.randn(BATCH_SIZE, 1, generator=shard)
        loss = nn.functional.mse_loss(ddp_model(inputs.to(device)), targets.to(device))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if rank == 0 and (step + 1) % 10 == 0:
            print(f"step {step + 1} loss {losses[-1]:.4f}", flush=True)

    parameters = torch.cat([parameter.detach().flatten() for parameter in model.parameters()])
    gathered = [torch.empty_like(parameters) for _ in range(world_size)]
    dist.all_gather(gathered, parameters)
    identical = all(torch.equal(gathered[0], other) for other in gathered)
    # Each rank's own view, for a caller that collects every rank's output (a multi-node job).
    checksum = hashlib.sha256(parameters.cpu().numpy().tobytes()).hexdigest()
    print(f"rank {rank} of {world_size}: parameters sha256 {checksum}", flush=True)
    loss_fell = losses[-1] < losses[0]
    if rank == 0:
        print(f"loss {losses[0]:.4f} -> {losses[-1]:.4f} on rank 0")
        print(f"parameters {'identical' if identical else 'DIFFER'} on all {world_size} ranks")
    dist.destroy_process_group()
    return 0 if identical and loss_fell else 1


if __name__ == "__main__":
    sys.exit(main())
