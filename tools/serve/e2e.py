#!/usr/bin/env python3
"""End-to-end checks of `specdec serve` with the real `openai` client, schemathesis, and a soak.

Starts the real server on loopback (a free port) with a real model and:
  1. drives it with the `openai` package: chat and completions, streaming and not, usage chunks;
  2. checks that greedy output over HTTP (speculative, lookup drafter) equals `specdec generate`'s;
  3. runs schemathesis against /openapi.json (bounded; no 5xx, responses match the schema);
  4. soaks it: N requests, C at a time, a third of them cut mid-stream; every request must be
     answered or cancelled, no slot leaked, and the RSS must end within 10% of its level after the
     first 50 requests.
Prints one line per check and exits non-zero on the first failure.

    python3 tools/serve/e2e.py --binary .build/release/specdec --model smollm2-135m [--soak 300]
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time


def fail(msg):
    print(f"FAIL: {msg}", flush=True)
    sys.exit(1)


def ok(msg):
    print(f"ok: {msg}", flush=True)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Server:
    def __init__(self, binary, args):
        self.proc = subprocess.Popen([binary, "serve", "--port", "0"] + args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     text=True)
        self.port = None
        self.log = []
        deadline = time.time() + 300
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                if self.proc.poll() is not None:
                    fail("server exited: " + "".join(self.log))
                continue
            self.log.append(line)
            m = re.search(r"listening on http://.*:(\d+) ", line)
            if m:
                self.port = int(m.group(1))
                break
        if self.port is None:
            fail("server did not start: " + "".join(self.log))
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.proc.stderr:
            self.log.append(line)

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def get_json(self, path):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        c.close()
        return r.status, json.loads(body)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail("server did not stop within 60 s of SIGTERM")
        return code


def check_openai(server, model):
    from openai import OpenAI
    client = OpenAI(base_url=server.base + "/v1", api_key="unused")
    models = client.models.list()
    if [m.id for m in models.data] != [model]:
        fail(f"models: {[m.id for m in models.data]}")
    chat = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Name three colors."}],
                                          max_tokens=24, temperature=0)
    text = chat.choices[0].message.content
    if not text or chat.usage.completion_tokens <= 0 or chat.choices[0].finish_reason not in ("stop", "length"):
        fail(f"chat: {chat}")
    stream = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Name three colors."}],
                                            max_tokens=24, temperature=0, stream=True, stream_options={"include_usage": True})
    pieces, usage, finish = [], None, None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        for c in chunk.choices:
            if c.delta.content:
                pieces.append(c.delta.content)
            if c.finish_reason:
                finish = c.finish_reason
    if "".join(pieces) != text:
        fail(f"streamed chat {''.join(pieces)!r} != {text!r}")
    if usage is None or usage.completion_tokens != chat.usage.completion_tokens or finish != chat.choices[0].finish_reason:
        fail(f"streamed chat usage/finish: {usage} {finish}")
    ok(f"openai chat, streamed and not ({chat.usage.completion_tokens} tokens, the same text)")
    comp = client.completions.create(model=model, prompt="def fibonacci(n):", max_tokens=24, temperature=0)
    ctext = comp.choices[0].text
    spieces = [c.choices[0].text for c in client.completions.create(model=model, prompt="def fibonacci(n):", max_tokens=24,
                                                                     temperature=0, stream=True) if c.choices]
    if "".join(spieces) != ctext or not ctext:
        fail(f"streamed completion {''.join(spieces)!r} != {ctext!r}")
    ok("openai completions, streamed and not (the same text)")
    sampled = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Say something."}],
                                             max_tokens=16, temperature=0.8, top_p=0.9, seed=7)
    again = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Say something."}],
                                           max_tokens=16, temperature=0.8, top_p=0.9, seed=7)
    if sampled.choices[0].message.content != again.choices[0].message.content:
        fail("the same seed gave two different samples")
    ok("sampling with a seed repeats")
    try:
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "x"}], max_tokens=2)
        fail("an unknown model was served")
    except Exception as e:  # openai.NotFoundError
        if getattr(e, "status_code", None) != 404:
            fail(f"unknown model: {e!r}")
    ok("an unknown model gets 404 through the client")


def check_generate_equality(server, binary, model):
    prompt = "Write a Python function that checks whether a number is prime."
    out = subprocess.run([binary, "generate", "--model", model, "--prompt", prompt, "--max-tokens", "48", "--format", "json"],
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        fail("specdec generate: " + out.stderr)
    expected = json.loads(out.stdout)["text"]
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
    for spec in (None, {"drafter": "lookup"}, {"drafter": "suffix", "draft_max": 4}):
        body = {"prompt": prompt, "max_tokens": 48, "temperature": 0}
        if spec:
            body["speculative"] = spec
        c.request("POST", "/v1/completions", json.dumps(body), {"Content-Type": "application/json"})
        r = c.getresponse()
        data = json.loads(r.read())
        if r.status != 200:
            fail(f"completion {spec}: {r.status} {data}")
        got = data["choices"][0]["text"]
        if got != expected:
            fail(f"greedy over HTTP ({spec}) differs from specdec generate:\n{got!r}\n{expected!r}")
    c.close()
    ok("greedy over HTTP (plain, lookup, suffix) equals `specdec generate` token for token")


def check_schemathesis(server, examples):
    st = os.path.join(os.path.dirname(sys.executable), "schemathesis")
    cmd = [st if os.path.exists(st) else "schemathesis", "run", server.base + "/openapi.json",
           "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
           "--max-examples", str(examples), "--exclude-checks", "positive_data_acceptance,negative_data_rejection"]
    # Bodies that pass the schema still generate tokens: keep them short.
    env = dict(os.environ, SCHEMATHESIS_HOOKS="")
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, env=env)
    tail = "\n".join((out.stdout + out.stderr).strip().splitlines()[-25:])
    if out.returncode != 0:
        fail("schemathesis:\n" + tail)
    ok(f"schemathesis ({examples} examples per operation): no failures")


def one_request(port, i):
    """A streamed chat request; every third is cut after its first chunk. Returns 'done', 'cut' or 'busy'."""
    cut = i % 3 == 0
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    body = {"messages": [{"role": "user", "content": f"Count from {i} to {i + 20}."}], "max_tokens": 24 if not cut else 256,
            "temperature": 0, "stream": True}
    if i % 2 == 0:
        body["speculative"] = {"drafter": "lookup"}
    c.request("POST", "/v1/chat/completions", json.dumps(body), {"Content-Type": "application/json"})
    r = c.getresponse()
    if r.status == 429:
        r.read()
        c.close()
        return "busy"
    if r.status != 200:
        raise RuntimeError(f"request {i}: status {r.status} {r.read()[:200]!r}")
    if cut:
        r.fp.readline()  # the first event, then hang up
        c.sock.close()
        c.close()
        return "cut"
    data = r.read().decode()
    c.close()
    if not data.rstrip().endswith("data: [DONE]"):
        raise RuntimeError(f"request {i}: stream did not end with [DONE]: {data[-200:]!r}")
    return "done"


def soak(server, total, concurrency):
    results = {"done": 0, "cut": 0, "busy": 0}
    baseline = None
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        futures = [pool.submit(one_request, server.port, i) for i in range(total)]
        for n, f in enumerate(futures, 1):
            try:
                results[f.result()] += 1
            except Exception as e:
                fail(f"soak: {e}")
            if n == 50:
                baseline = rss_kib(server.proc.pid)
    # Let cut requests' generations notice the hang-up, then check the slots.
    deadline = time.time() + 30
    while True:
        status, health = server.get_json("/health")
        if health["slots_busy"] == 0 and health["queue_depth"] == 0:
            break
        if time.time() > deadline:
            fail(f"slots still busy 30 s after the soak: {health}")
        time.sleep(0.2)
    end = rss_kib(server.proc.pid)
    growth = (end - baseline) / baseline if baseline else 0
    if growth > 0.10:
        fail(f"RSS grew {growth:.1%} after the first 50 requests ({baseline} -> {end} KiB)")
    ok(f"soak: {total} requests, {concurrency} at a time: {results['done']} answered, {results['cut']} cut mid-stream, "
       f"{results['busy']} refused with 429; no slot busy after; RSS {baseline} -> {end} KiB ({growth:+.1%})")
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=".build/release/specdec")
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--soak", type=int, default=300)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--schemathesis-examples", type=int, default=15)
    ap.add_argument("--skip-schemathesis", action="store_true")
    args = ap.parse_args()
    server = Server(args.binary, ["--model", args.model, "--parallel", "2", "--queue", "8", "--max-tokens", "32",
                                  "--model-alias", args.model, "--context", "1024"])
    try:
        check_openai(server, args.model)
        check_generate_equality(server, args.binary, args.model)
        if not args.skip_schemathesis:
            check_schemathesis(server, args.schemathesis_examples)
        if args.soak > 0:
            soak(server, args.soak, args.concurrency)
        c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        c.request("GET", "/metrics")
        text = c.getresponse().read().decode()
        c.close()
        if args.soak > 0:
            m = re.search(r"^specdec_cancelled_requests_total (\d+)", text, re.M)
            if not m or int(m.group(1)) == 0:
                fail("no generation was counted as cancelled although clients hung up mid-stream")
            ok(f"{m.group(1)} generations stopped early because their client hung up")
        for name in ("specdec_requests_total", "specdec_generated_tokens_total", "specdec_time_to_first_token_seconds_bucket",
                     "specdec_accepted_tokens_total", "specdec_cancelled_requests_total"):
            if name not in text:
                fail(f"/metrics lacks {name}")
        ok("/metrics has request, token, drafting, latency and cancellation series")
        # Graceful shutdown: a stream in flight when SIGTERM arrives still ends with [DONE].
        c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
        c.request("POST", "/v1/chat/completions", json.dumps({"messages": [{"role": "user", "content": "Tell a long story."}],
                                                               "max_tokens": 200, "temperature": 0, "stream": True,
                                                               "speculative": {"drafter": "none"}}),
                  {"Content-Type": "application/json"})
        r = c.getresponse()
        r.readline()  # the first event has arrived: the generation is running
        server.proc.send_signal(signal.SIGTERM)
        rest = r.read().decode()
        c.close()
        if not rest.rstrip().endswith("data: [DONE]"):
            fail(f"the stream in flight at SIGTERM was cut: {rest[-200:]!r}")
        ok("SIGTERM during a stream: the stream finished with [DONE]")
    finally:
        code = server.stop()
    if code != 0:
        fail(f"server exited with {code} after SIGTERM")
    ok("SIGTERM: the server stopped cleanly")


if __name__ == "__main__":
    main()
