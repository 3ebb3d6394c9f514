#!/usr/bin/env python3
"""Load figures of `specdec serve` over loopback, against `specdec generate` in the same sitting.

1. `specdec generate --format json` on the prompt (its decode tokens/s), R times;
2. one client: R streamed requests of the same prompt, alternating with the `generate` runs (time to
   first token, decode tokens/s from the first to the last token, and the server's own
   `timings.tokens_per_second`);
3. C clients at once against a second server started with --parallel P: total tokens/s and p50/p99
   request latency over N requests.
Standard library only. Example (the flagship pair, greedy speculation):

    python3 tools/serve/load.py --model qwen2.5-coder-1.5b --draft-model qwen2.5-coder-0.5b \
        --max-tokens 128 --repeats 3 --clients 4 --parallel 2 --requests 16
"""
import argparse
import concurrent.futures
import http.client
import json
import re
import signal
import statistics
import subprocess
import sys
import threading
import time

PROMPT = "Write a Python function that returns the n-th Fibonacci number, with a docstring and an example."


def start(binary, args):
    proc = subprocess.Popen([binary, "serve", "--port", "0"] + args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    log = []
    while True:
        line = proc.stderr.readline()
        if not line:
            sys.exit("server exited: " + "".join(log))
        log.append(line)
        m = re.search(r"listening on http://.*:(\d+) ", line)
        if m:
            threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
            return proc, int(m.group(1))


def stream_request(port, max_tokens, chat):
    """One streamed request: (seconds to first token, seconds total, completion tokens, server tokens/s)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    body = {"max_tokens": max_tokens, "temperature": 0, "stream": True, "stream_options": {"include_usage": True}}
    if chat:
        body["messages"] = [{"role": "user", "content": PROMPT}]
        path = "/v1/chat/completions"
    else:
        body["prompt"] = PROMPT
        path = "/v1/completions"
    t0 = time.perf_counter()
    c.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    r = c.getresponse()
    first, tokens, server_tps = None, 0, None
    for raw in r:
        line = raw.decode().strip()
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        event = json.loads(line[6:])
        if event.get("usage"):
            tokens = event["usage"]["completion_tokens"]
            server_tps = event.get("timings", {}).get("tokens_per_second")
        for ch in event.get("choices", []):
            text = ch.get("delta", {}).get("content") if chat else ch.get("text")
            if text and first is None:
                first = time.perf_counter() - t0
    total = time.perf_counter() - t0
    c.close()
    return first or total, total, tokens, server_tps


def pct(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=".build/release/specdec")
    ap.add_argument("--model", default="qwen2.5-coder-1.5b")
    ap.add_argument("--draft-model", default="qwen2.5-coder-0.5b")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--clients", type=int, default=4, help="0: skip the --parallel part")
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--requests", type=int, default=16)
    ap.add_argument("--chat", action="store_true", help="chat completions (default: completions of the raw prompt)")
    args = ap.parse_args()
    spec = ["--draft-model", args.draft_model] if args.draft_model else []

    def generate_once():
        cmd = [args.binary, "generate", "--model", args.model, "--prompt", PROMPT, "--max-tokens", str(args.max_tokens),
               "--format", "json"] + spec + (["--chat"] if args.chat else [])
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        return json.loads(out.stdout)["stats"]["tokens_per_second"]

    # `generate` and the single client alternate, one run of each per round, so that a slow patch of
    # a shared machine weighs on both (the idle server uses no CPU while `generate` runs).
    proc, port = start(args.binary, ["--model", args.model, "--parallel", "1"] + spec)
    stream_request(port, 8, args.chat)  # warm-up: the cost model's first measurement
    gen, single = [], []
    for _ in range(args.repeats):
        gen.append(generate_once())
        single.append(stream_request(port, args.max_tokens, args.chat))
    proc.send_signal(signal.SIGTERM)
    proc.wait()
    g = statistics.median(gen)
    ttft = statistics.median(s[0] for s in single)
    client_tps = statistics.median(s[2] / max(1e-9, s[1] - s[0]) for s in single)
    server_tps = statistics.median(s[3] for s in single)
    paired = statistics.median(s[3] / x for s, x in zip(single, gen))
    print(f"model {args.model}, draft {args.draft_model or 'none'}, {args.max_tokens} tokens, greedy, "
          f"{'chat' if args.chat else 'completion'}, {args.repeats} alternating rounds")
    print(f"specdec generate: {g:.1f} tok/s (median; runs {', '.join(f'{x:.1f}' for x in gen)})")
    print(f"serve, 1 client: decode {server_tps:.1f} tok/s by the server's timings ({server_tps / g:.3f}x generate; "
          f"median of the rounds' ratios {paired:.3f}x; runs {', '.join(f'{s[3]:.1f}' for s in single)}), "
          f"{client_tps:.1f} tok/s first-to-last token at the client ({client_tps / g:.3f}x), time to first token "
          f"{ttft * 1000:.0f} ms")
    if args.clients <= 0:
        return

    proc, port = start(args.binary, ["--model", args.model, "--parallel", str(args.parallel), "--queue", str(args.requests)] + spec)
    stream_request(port, 8, args.chat)
    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(args.clients) as pool:
        results = list(pool.map(lambda _: stream_request(port, args.max_tokens, args.chat), range(args.requests)))
    wall = time.perf_counter() - t0
    proc.send_signal(signal.SIGTERM)
    proc.wait()
    tokens = sum(r[2] for r in results)
    lat = [r[1] for r in results]
    ttfts = [r[0] for r in results]
    print(f"serve, --parallel {args.parallel}, {args.clients} clients, {args.requests} requests: {tokens / wall:.1f} tok/s in all, "
          f"latency p50 {pct(lat, 0.5):.2f} s, p99 {pct(lat, 0.99):.2f} s, time to first token p50 {pct(ttfts, 0.5) * 1000:.0f} ms, "
          f"p99 {pct(ttfts, 0.99) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
