"""CPU seconds of one 25,000-review IMDB epoch of Appendix C.4's bidirectional LSTM (`models.LSTMClassifier`: embedding
128, hidden 100, 100 tokens, batch 128, Adam), two ways: as the model runs it (each direction one call of the fused LSTM
kernel) and through `pack_padded_sequence` (the usual way, which a CPU runs step by step).

    python benchmarks/lstm_epoch.py                                  # the real reviews of the settings' data_dir
    python benchmarks/lstm_epoch.py --data-dir ../shared/data --out nbs/results/appC_imdb/lstm_epoch_cpu.csv

Each way trains `--batches` batches of the first reviews (after 3 warm-up batches) on one thread, and the CPU time
(`time.process_time`) is scaled to 25,000 reviews; both ways give the same logits (checked before timing). Without
the real reviews it uses random token ids with the real length profile (88% of reviews reach 100 tokens).
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import pandas as pd
import torch
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence

from kdfidelity.models import LSTMClassifier, sequence_lengths


def packed_logits(net: LSTMClassifier, tokens: torch.Tensor) -> torch.Tensor:
    "The packed-sequence computation of the same network."
    packed = pack_padded_sequence(
        net.embedding(tokens), sequence_lengths(tokens), batch_first=True, enforce_sorted=False
    )
    _, (last, _) = net.lstm(packed)
    return net.head(torch.cat([last[-2], last[-1]], dim=1))


def reviews(data_dir: str | None) -> tuple[torch.Tensor, torch.Tensor, int, str]:
    "Token ids, labels, vocabulary size and where they came from."
    try:
        from kdfidelity.data import load_imdb
        from kdfidelity.settings import load_settings

        data = load_imdb(data_dir or load_settings().data_dir, "train")
        return data.tokens, data.labels, len(data.vocab), "the real IMDB train reviews"
    except Exception:
        generator = torch.Generator().manual_seed(0)
        tokens = torch.randint(2, 20_535, (25_000, 100), generator=generator)
        short = torch.rand(25_000, generator=generator) > 0.88
        lengths = torch.randint(10, 100, (25_000,), generator=generator)
        tokens[short] *= (torch.arange(100) < lengths[short, None]).long()
        return tokens, torch.randint(0, 2, (25_000,), generator=generator), 20_535, "random token ids"


def seconds_per_epoch(forward, net, tokens, labels, batches: int, batch_size: int = 128) -> float:
    "CPU seconds of `batches` training steps (after 3 warm-up steps), scaled to 25,000 reviews."
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-3)
    for i in range(batches + 3):
        if i == 3:
            start = time.process_time()
        x, y = tokens[i * batch_size : (i + 1) * batch_size], labels[i * batch_size : (i + 1) * batch_size]
        loss = F.cross_entropy(forward(net, x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return (time.process_time() - start) / (batches * batch_size) * 25_000


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--out", default=None, help="a CSV file for the rows")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    tokens, labels, vocab, source = reviews(args.data_dir)
    torch.manual_seed(0)
    net = LSTMClassifier(vocab)
    with torch.no_grad():
        assert torch.allclose(net(tokens[:256]), packed_logits(net, tokens[:256]), atol=1e-5)
    rows = []
    for way, forward in (("fused, one call per direction", lambda n, x: n(x)), ("pack_padded_sequence", packed_logits)):
        rows.append(dict(way=way, cpu_seconds_per_epoch=seconds_per_epoch(forward, net, tokens, labels, args.batches)))
    table = pd.DataFrame(rows).assign(
        data=source,
        batches=args.batches,
        threads=1,
        torch=torch.__version__,
        cpu=platform.processor() or platform.machine(),
    )
    print(table.to_string(index=False))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
