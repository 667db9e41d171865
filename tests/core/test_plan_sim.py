"""Issue 12: the planner on the scheduler simulation (``plan-sim``), closed-loop sessions with think
time, pipeline parallelism in the simulation, and the calibrate page's empty and bad inputs.

Expected values are hand-worked from a constant step time (``DT``) or are properties that hold
whatever the step-cost model gives (the roofline's constants are being revised in parallel).
"""

from __future__ import annotations

import json
import math
from collections import deque
from pathlib import Path

import pytest

from calculators import calibrate, charts, cli, forms, hardware, models, planner, roofline, vllm
from calculators import simulate as sim
from calculators.errors import CalcError

LLAMA = models.load_preset("meta-llama/Llama-3.1-8B-Instruct")
H100 = hardware.get_gpu("h100-sxm")
DT = 0.01
SLO = sim.parse_slo("ttft:p95<500ms;tpot:p99<50ms")
P = sim.parse_lengths("normal:1024:256", "prompt-tokens")
OUT = sim.parse_lengths("normal:256:64", "output-tokens")


def const(_b: int, _c: float, _p: int, _n: int, _m: float) -> float:
    return DT


# ---------------------------------------------------------------- pipeline parallelism


def test_pp_send_by_hand() -> None:
    # 2 tensors (hidden states, residual) × 4,096 hidden × 1,000 tokens × 2 bytes over H100 NVLink
    # (450 GB/s per direction, notes/gpus.md) at the link efficiency, plus the 10 µs latency
    eff = roofline.Efficiency().link
    expected = 10e-6 + 2 * 4096 * 1000 * 2 / (450e9 * eff)
    assert sim.pp_send_s(4096, 1000, H100, 1, 2, eff) == pytest.approx(expected)
    assert sim.pp_send_s(4096, 1000, H100, 1, 1, eff) == 0.0
    # more than 8 GPUs in a replica: between nodes at 50 GB/s
    assert sim.pp_send_s(4096, 1000, H100, 8, 2, eff) == pytest.approx(10e-6 + 16_384_000 / (50e9 * eff))
    assert sim.pp_stage_fraction(32, 2) == 0.5 and sim.pp_stage_fraction(61, 4) == 16 / 61


def test_pipeline_one_request_by_hand() -> None:
    """Prompt 100, output 4, pp 2, a full step of DT: each stage takes DT/2 (32 layers, 16 each);
    every token crosses both stages and one send: TTFT = DT + send(100), TPOT = DT + send(1)."""
    r = sim.simulate(LLAMA, H100, pp=2, rate=None, prompt=sim.Lengths("fixed", 100),
                     output=sim.Lengths("fixed", 4), requests=1, step_time=const)
    eff = roofline.Efficiency().link
    s100, s1 = (sim.pp_send_s(LLAMA.hidden_size, n, H100, 1, 2, eff) for n in (100, 1))
    assert r.steps == 4
    assert r.ttft_s.p50 == pytest.approx(DT + s100)
    assert r.tpot_s.p50 == pytest.approx(DT + s1)
    assert r.e2e_s.p50 == pytest.approx(DT + s100 + 3 * (DT + s1))


def _req(arrival: float, prompt: int, output: int) -> sim._Req:
    return sim._Req(arrival=arrival, prompt=prompt, output=output, hit=0, target=prompt)


def test_pipeline_two_batches_in_flight_by_hand() -> None:
    """A arrives at 0, B at 1 ms (prompts 100, outputs 2), pp 2, stage = DT/2 = 5 ms, send s(n).
    A's prefill: stage 1 [0, 5], stage 2 [5 + s100, 10 + s100]: first token at 10 + s100.
    B arrives while A is in flight and the queue has room: its prefill enters stage 1 when it
    frees (5), stage 2 at 10 + s100 (after A leaves it): first token at 15 + s100.
    A's decode enters stage 1 at 10 + s100, stage 2 at 15 + s100 + s1: A ends at 20 + s100 + s1.
    B's decode enters stage 1 at 15 + s100, stage 2 once A's decode leaves: B ends at 25 + s100 + s1."""
    a, b = _req(0.0, 100, 2), _req(0.001, 100, 2)
    s = {100: 0.0002, 1: 0.00001}

    def blocks_for(tokens: int) -> int:
        return -(-tokens // 16)

    steps, pre, *_ = sim._run_pipeline(deque([a, b]), deque(), 2, 1000, 8192, 256, const, blocks_for,
                                       lambda: 0.0, 2, 0.5, lambda n: s[n])
    assert steps == 4 and pre == 0
    assert a.first_token == pytest.approx(0.010 + s[100])
    assert b.first_token == pytest.approx(0.015 + s[100])
    assert a.finish == pytest.approx(0.020 + s[100] + s[1])
    assert b.finish == pytest.approx(0.025 + s[100] + s[1])


def test_pp2_halves_weights_per_gpu_and_never_lowers_a_tokens_latency() -> None:
    one = vllm.fit(LLAMA, H100, tp=1, pp=1, max_model_len=4096)
    two = vllm.fit(LLAMA, H100, tp=1, pp=2, max_model_len=4096)
    # Llama 3.1 8B: 16 of 32 layers per stage; calculators.memory counts the embedding (0.5 GiB) and
    # the LM head (0.5 GiB) on the busiest stage (a bound): (16.09 − 2 × 1.05) ÷ 2 + 2 × 1.05 GB
    embed_and_head = 2 * 128_256 * 4096 * 2
    layers = one.weights_bytes_per_gpu - embed_and_head
    assert two.weights_bytes_per_gpu == pytest.approx(layers / 2 + embed_and_head, rel=0.01)
    assert two.num_gpu_blocks > one.num_gpu_blocks
    # one request alone (the same batch in every step): its TTFT and TPOT are never lower with pp 2.
    # (Under load they can be: two half-size batches in flight each read the weights for fewer tokens.)
    for prompt in (100, 3000):
        kw = {"rate": None, "prompt": sim.Lengths("fixed", prompt), "output": sim.Lengths("fixed", 50), "requests": 1}
        r1 = sim.simulate(LLAMA, H100, pp=1, **kw)  # type: ignore[arg-type]
        r2 = sim.simulate(LLAMA, H100, pp=2, **kw)  # type: ignore[arg-type]
        assert r2.ttft_s.p50 >= r1.ttft_s.p50 and r2.tpot_s.p50 >= r1.tpot_s.p50
    # by construction: pp × ⌈L/pp⌉/L × step + (pp − 1) × send ≥ step
    for layers, pp in ((32, 2), (61, 4), (80, 3), (126, 8)):
        assert pp * sim.pp_stage_fraction(layers, pp) >= 1


def test_pipeline_preempts_when_the_kv_cache_is_full() -> None:
    r = sim.simulate(LLAMA, H100, pp=2, rate=None, prompt=sim.Lengths("fixed", 100), output=sim.Lengths("fixed", 200),
                     requests=6, step_time=const, num_gpu_blocks=40)
    assert r.preemptions > 0 and r.requests == 6 and r.e2e_s.p99 > 0


@pytest.mark.parametrize("pp", [0, 17, 1.5, True])
def test_bad_pp_is_refused(pp: object) -> None:
    with pytest.raises(CalcError) as exc:
        sim.simulate(LLAMA, H100, pp=pp, requests=1)  # type: ignore[arg-type]
    assert exc.value.field == "pp"


# ---------------------------------------------------------------- closed loop: sessions and think time


def test_no_think_time_is_the_old_closed_loop() -> None:
    kw = {"rate": None, "concurrency": 4, "prompt": P, "output": OUT, "requests": 40, "seed": 1}
    assert sim.simulate(LLAMA, H100, **kw) == sim.simulate(LLAMA, H100, think_s=0.0, **kw)  # type: ignore[arg-type]


def test_one_session_thinks_between_requests() -> None:
    """One session, prompt 100, output 4, DT steps: each request takes 4 DT; with think time T the
    span is 3 requests × 4 DT + the think before each (exponential draws: positive)."""
    busy = sim.simulate(LLAMA, H100, rate=None, concurrency=1, prompt=sim.Lengths("fixed", 100),
                        output=sim.Lengths("fixed", 4), requests=3, step_time=const)
    assert busy.duration_s == pytest.approx(12 * DT)
    idle = sim.simulate(LLAMA, H100, rate=None, concurrency=1, think_s=1.0, prompt=sim.Lengths("fixed", 100),
                        output=sim.Lengths("fixed", 4), requests=3, step_time=const)
    assert idle.e2e_s.p99 == pytest.approx(4 * DT)  # nobody else: no queueing
    assert idle.duration_s > busy.duration_s


def test_longer_think_lowers_throughput() -> None:
    out = [sim.simulate(LLAMA, H100, rate=None, concurrency=32, think_s=t, prompt=P, output=OUT, requests=200)
           .request_throughput_per_s for t in (0.0, 2.0, 20.0)]
    assert out[0] > out[1] > out[2]


def test_think_time_needs_sessions() -> None:
    with pytest.raises(CalcError) as exc:
        sim.simulate(LLAMA, H100, rate=1.0, think_s=1.0, requests=2)
    assert exc.value.field == "think-time-s"


# ---------------------------------------------------------------- properties the planner relies on


@pytest.mark.parametrize("rate", [10.0, 40.0])
def test_more_replicas_never_worse_p99_at_the_same_load(rate: float) -> None:
    p99 = []
    for replicas in (1, 2, 3, 4):
        r = sim.simulate(LLAMA, H100, rate=rate / replicas, prompt=P, output=OUT, requests=300)
        p99.append((r.ttft_s.p99, r.tpot_s.p99))
    for a, b in zip(p99, p99[1:], strict=False):
        assert b[0] <= a[0] * 1.001 and b[1] <= a[1] * 1.001


def test_higher_rate_never_lower_p99() -> None:
    prev = (0.0, 0.0)
    for rate in (1.0, 5.0, 10.0, 20.0, 40.0):
        r = sim.simulate(LLAMA, H100, rate=rate, prompt=P, output=OUT, requests=300)
        assert r.ttft_s.p99 >= prev[0] * 0.999 and r.e2e_s.p99 >= prev[1] * 0.999
        prev = (r.ttft_s.p99, r.e2e_s.p99)


def _search(**kw: object) -> planner.SearchResult:
    args: dict[str, object] = {"gpus": [H100], "w": planner.ServingWorkload(P, OUT, rate_per_s=20.0), "slo": SLO,
                               "gpu_hour_price": 2.5, **kw}
    return planner.search(LLAMA, **args)  # type: ignore[arg-type]


def test_recommended_plan_meets_the_slo_in_its_own_simulation() -> None:
    res = _search()
    assert res.recommended is not None
    c = res.candidates[res.recommended]
    b = c.best
    assert b is not None and c.status == "meets" and b.meets_slo
    again = sim.simulate(LLAMA, H100, tp=c.tp, pp=c.pp, rate=20.0 / b.replicas, prompt=P, output=OUT,
                         requests=planner.DEFAULT_SIM_REQUESTS, slo=SLO,
                         max_model_len=min(LLAMA.max_len, math.ceil(1024 + 4 * 256) + math.ceil(256 + 4 * 64)))
    assert again.slo_met
    assert b.gpus == b.replicas * c.tp * c.pp
    assert b.cost_per_hour is not None and b.cost_per_hour == pytest.approx(2.5 * b.gpus)
    # $/h ÷ (20 requests/s × 256 tokens × 3,600 s ÷ 10⁶)
    assert b.cost_per_million_output_tokens == pytest.approx(b.cost_per_hour / (20 * 256 * 3600 / 1e6))
    # the cheapest: no feasible candidate costs less
    assert all(x.best is None or x.best.cost_per_hour >= b.cost_per_hour for x in res.candidates)  # type: ignore[operator]
    # one replica fewer of the recommended configuration misses the SLO (or there is only one)
    if b.replicas > 1:
        fewer = [p for p in res.points if (p.gpu, p.tp, p.pp, p.replicas) == (c.gpu, c.tp, c.pp, b.replicas - 1)
                 and not p.curve]
        assert fewer and not fewer[0].meets_slo


def test_a_trickle_needs_one_gpu() -> None:
    """0.01 requests/s of Llama 3.1 8B: requests never overlap, one GPU meets the SLO; bigger TP
    replicas are pruned by cost without being simulated past their lower bound."""
    res = _search(w=planner.ServingWorkload(P, OUT, rate_per_s=0.01))
    best = res.candidates[res.recommended].best if res.recommended is not None else None
    assert best is not None and (best.gpus, best.replicas) == (1, 1)
    assert {c.status for c in res.candidates if c.tp > 1} == {"pruned"}


def test_one_session_needs_one_replica() -> None:
    res = _search(w=planner.ServingWorkload(P, OUT, sessions=1, think_s=1.0))
    best = res.candidates[res.recommended].best if res.recommended is not None else None
    assert best is not None and best.replicas == 1 and best.gpus == 1


def test_a_higher_rate_never_needs_fewer_gpus() -> None:
    gpus = []
    for rate in (5.0, 20.0, 60.0):
        res = _search(w=planner.ServingWorkload(P, OUT, rate_per_s=rate))
        assert res.recommended is not None
        best = res.candidates[res.recommended].best
        assert best is not None
        gpus.append(best.gpus)
    assert gpus == sorted(gpus)


def test_sessions_with_think_time() -> None:
    res = _search(w=planner.ServingWorkload(P, OUT, sessions=200, think_s=10.0))
    assert res.recommended is not None
    best = res.candidates[res.recommended].best
    assert best is not None and best.meets_slo and best.output_tokens_per_s > 0


def test_weights_that_do_not_fit_and_prices_per_gpu() -> None:
    big = models.load_preset("meta-llama/Llama-3.1-70B-Instruct")
    res = planner.search(big, [H100], planner.ServingWorkload(P, OUT, rate_per_s=2.0), SLO, max_tp=2,
                         prices={"h100-sxm": 3.0})
    status = {(c.tp, c.status) for c in res.candidates}
    assert (1, "weights") in status  # 141 GB of bf16 weights on one 80 GB GPU
    best = res.candidates[res.recommended].best if res.recommended is not None else None
    assert best is None or best.cost_per_hour == pytest.approx(3.0 * best.gpus)


def test_pp_is_searched_when_asked() -> None:
    res = _search(max_tp=1, max_pp=2, requests=60)
    assert {c.pp for c in res.candidates} == {1, 2}


def test_pareto_front_by_hand() -> None:
    pcts = sim.Percentiles(0, 0, 0)

    def pt(lat: float, tps: float) -> planner.SimPoint:
        return planner.SimPoint("h100-sxm", 1, 1, "auto", 1, 1, True, lat, tps, tps, pcts, pcts, pcts, 0, None, None)

    pts = [pt(0.1, 100), pt(0.2, 300), pt(0.15, 50), pt(0.3, 250), pt(0.05, 10)]
    assert planner.pareto_front(pts) == (4, 0, 1)  # (0.15, 50) and (0.3, 250) are dominated


@pytest.mark.parametrize("text", ["h100=2", "h100-sxm", "h100-sxm=abc", "h100-sxm=-1", "h100-sxm=1e9"])
def test_bad_prices_are_refused(text: str) -> None:
    with pytest.raises(CalcError) as exc:
        planner.parse_prices(text)
    assert exc.value.field == "gpu-prices"


def test_prices_for_some_gpus_search_only_those() -> None:
    res = planner.search(LLAMA, None, planner.ServingWorkload(P, OUT, rate_per_s=5.0), SLO, max_tp=1,
                         prices={"h200": 3.5, "l40s": 1.0}, requests=60)
    assert {c.gpu for c in res.candidates} == {"h200", "l40s"}
    with pytest.raises(CalcError) as exc:
        planner.search(LLAMA, [H100], planner.ServingWorkload(P, OUT, rate_per_s=5.0), SLO, prices={"h200": 3.5})
    assert exc.value.field == "gpu-prices" and "h100-sxm" in exc.value.message


def test_prices_parse() -> None:
    assert planner.parse_prices("h100-sxm=2.99; H200=$3.5,") == {"h100-sxm": 2.99, "h200": 3.5}


@pytest.mark.parametrize(("raw", "field"), [
    ({"slo": "ttft<5"}, "slo"), ({"weights-dtypes": "fp7"}, "weights-dtypes"), ({"weights-dtypes": " , "},
                                                                                   "weights-dtypes"),
    ({"prompt-tokens": "normal:x"}, "prompt-tokens"), ({"think-time-s": "3"}, "think-time-s"),
    ({"requests": "5"}, "requests"), ({"gpu-prices": "nope"}, "gpu-prices"), ({"rate": "0"}, "rate"),
])
def test_plan_sim_bad_input_names_the_field(raw: dict[str, str], field: str) -> None:
    with pytest.raises(CalcError) as exc:
        forms.run("plan-sim", raw)
    assert exc.value.field == field


def test_plan_sim_form_result() -> None:
    out = forms.run("plan-sim", {"rate": "20", "gpu-hour-price": "2"})
    rec = out["recommended_option"]
    assert rec["feasible"] and out["recommended_gpus"] == rec["gpus"]
    assert out["recommended_cost_per_hour"] == pytest.approx(2 * rec["gpus"])
    table = out["options_table"]
    assert table["rows"][0]["recommended"] and len(table["rows"]) == len(out["options"])
    assert out["chart_svg"].startswith("<svg") and out["pareto"]
    assert "split the load evenly" in " ".join(out["assumptions"])
    json.dumps({k: v for k, v in out.items() if k != "chart_svg"}, allow_nan=False)
    # sessions replace the rate
    s = forms.run("plan-sim", {"sessions": "100", "think-time-s": "5"})
    assert s["workload"]["sessions"] == 100 and s["workload"]["rate_per_s"] is None


def test_plan_sim_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["plan-sim", "--rate", "20", "--gpu-prices", "h100-sxm=3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("summary", "recommended_option", "recommended_gpus", "recommended_cost_per_hour",
                "recommended_cost_per_million_output_tokens", "options", "points", "pareto", "simulations"):
        assert key in out
    assert "chart_svg" not in out
    assert cli.main(["plan-sim", "--slo", "p99"]) == 2
    assert "error: --slo:" in capsys.readouterr().err


def test_old_plan_unchanged(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["plan", "--preset", "chat", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"summary", "options", "recommended", "recommended_gpus", "options_table"} <= set(out)


def test_pareto_chart_text_and_palette() -> None:
    svg = charts.pareto_chart([("h100 <TP1>", [(0.05, 1000.0), (0.1, 2000.0)])], [(0.05, 1000.0)], "t", "TTFT p95",
                              0.5)
    assert "&lt;TP1&gt;" in svg and "<TP1>" not in svg
    sizes = [float(x.split('"')[1]) for x in svg.split("font-size=")[1:]]
    assert min(sizes) >= 11
    assert 'fill="currentColor"' in svg  # follows the light/dark palette


# ---------------------------------------------------------------- the calibrate page


def test_calibrate_page_without_a_file_waits() -> None:
    out = forms.run("calibrate", {})
    assert out["status"] == forms.CALIBRATE_WAITING and out["mbu"] is None


def test_calibrate_page_bad_file_names_the_field() -> None:
    for text, needle in (("{oops", "not valid JSON"), ('{"input_lens": [1]}', "--save-detailed"),
                         ("[1]", "JSON object"), ('{"input_lens": [1], "output_lens": [1]}', "median_ttft_ms")):
        with pytest.raises(CalcError) as exc:
            forms.run("calibrate", {"bench-json": text})
        assert exc.value.field == "bench-json" and needle in exc.value.message


def test_calibrate_cli_needs_a_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["calibrate", "--json"]) == 2
    assert "error: --bench: give the JSON file" in capsys.readouterr().err


def test_calibrate_page_fits_a_pasted_file() -> None:
    bench = {"request_rate": 2.0, "max_concurrency": None, "input_lens": [800, 1200, 400] * 10,
             "output_lens": [100, 200, 50] * 10, "median_ttft_ms": 60.0, "median_tpot_ms": 12.0,
             "output_throughput": 250.0, "model_id": "meta-llama/Llama-3.1-8B-Instruct"}
    out = forms.run("calibrate", {"bench-json": json.dumps(bench, indent=2)})
    assert out["status"].startswith("fitted to 30 requests")
    assert out["tpot_after_ms"] == pytest.approx(12.0, rel=0.03)
    assert out["throughput_measured"] == 250.0


# ---------------------------------------------------------------- GuideLLM reports


def _guidellm(version: str, mbu: float, mfu: float) -> str:
    """A GuideLLM report whose medians come from the simulation at known efficiencies: 0.4+ puts the
    strategy under config and the per-request figures as computed fields; 0.2-0.3 under args."""
    lengths = [(800, 100), (1200, 200), (400, 50)] * 10
    r = sim.simulate(LLAMA, H100, rate=None, concurrency=4, lengths=lengths, requests=len(lengths),
                     eff=roofline.Efficiency(mbu=mbu, mfu=mfu))
    reqs = [{"prompt_tokens": p, "output_tokens": o, "time_to_first_token_ms": 1000 * r.ttft_s.p50,
             "inter_token_latency_ms": 1000 * r.tpot_s.p50, "time_per_output_token_ms": 1.0} for p, o in lengths]
    strategy = {"type_": "concurrent", "streams": 4}
    run = {"requests": {"successful": reqs, "incomplete": [], "errored": []}, "duration": 10.0}
    run["config" if version == "0.4" else "args"] = {"strategy": strategy}
    return json.dumps({"benchmarks": [{"requests": {"successful": []}}, run]})


@pytest.mark.parametrize("version", ["0.3", "0.4"])
def test_guidellm_report_is_read_and_fitted(version: str) -> None:
    text = _guidellm(version, 0.5, 0.4)
    bench = calibrate.parse_bench(text, 2)
    assert bench.max_concurrency == 4 and bench.request_rate is None and len(bench.lengths) == 30
    assert bench.output_tokens_per_s == pytest.approx(sum(o for _, o in bench.lengths) / 10.0)
    out = forms.run("calibrate", {"bench-json": text, "benchmark": "2"})
    assert out["tpot_after_ms"] == pytest.approx(out["tpot_measured_ms"], rel=0.03)
    with pytest.raises(CalcError) as exc:
        forms.run("calibrate", {"bench-json": text, "benchmark": "1"})  # the first run has no requests
    assert exc.value.field == "bench-json" and "requests.successful" in exc.value.message
    with pytest.raises(CalcError) as exc:
        forms.run("calibrate", {"bench-json": text, "benchmark": "3"})
    assert exc.value.field == "benchmark"



def test_a_bench_file_over_2_mb_is_read(tmp_path: Path) -> None:
    """vllm bench serve --save-detailed also writes every request's inter-token latencies and text:
    a real file passes 2 MB (the config.json limit) at a few hundred requests."""
    bench = {"request_rate": 2.0, "max_concurrency": None, "input_lens": [800, 1200, 400] * 10,
             "output_lens": [100, 200, 50] * 10, "median_ttft_ms": 60.0, "median_tpot_ms": 12.0,
             "output_throughput": 250.0, "model_id": "meta-llama/Llama-3.1-8B-Instruct",
             "itls": [[0.0123456789] * 10_000] * 30, "generated_texts": ["x" * 20_000] * 30}
    text = json.dumps(bench)
    assert len(text) > 3_000_000
    path = tmp_path / "bench.json"
    path.write_text(text, encoding="utf-8")
    assert cli.main(["calibrate", "--bench", str(path), "--json"]) == 0
    assert forms.run("calibrate", {"bench-json": text})["requests"] == 30


def test_plan_sim_prints_the_serve_command_of_what_it_simulated(capsys: pytest.CaptureFixture[str]) -> None:
    """The recommended plan comes with a ``vllm serve`` line carrying every flag the search sized and
    simulated with: TP and PP of the plan, --max-model-len the longest prompt + output the workload
    draws (here fixed: 2,048 + 512), and the weights format's flag (vllm.py's serve_command rules)."""
    assert cli.main(["plan-sim", "--model", "meta-llama/Llama-3.1-70B-Instruct", "--gpu", "h100-sxm", "--rate", "2",
                     "--prompt-tokens", "2048", "--output-tokens", "512", "--weights-dtypes", "fp8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    opt = out["recommended_option"]
    assert opt is not None and out["max_model_len"] == 2048 + 512
    words = out["serve_command"].split()
    assert words[:3] == ["vllm", "serve", "meta-llama/Llama-3.1-70B-Instruct"]
    assert ("--tensor-parallel-size" in words) == (opt["tp"] > 1)
    if opt["tp"] > 1:
        assert words[words.index("--tensor-parallel-size") + 1] == str(opt["tp"])
    assert ("--pipeline-parallel-size" in words) == (opt["pp"] > 1)
    assert words[words.index("--max-model-len") + 1] == "2560"
    assert words[words.index("--quantization") + 1] == "fp8"


def test_plan_sim_sized_for_enforce_eager_says_so_in_its_command(capsys: pytest.CaptureFixture[str]) -> None:
    """A plan simulated with --enforce-eager (every step pays eager launches, no memory kept for CUDA
    graphs) prints a command that runs the server that way; without it, the command has no such flag."""
    args = ["plan-sim", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "h100-sxm", "--rate", "2",
            "--requests", "200", "--json"]
    assert cli.main(args) == 0
    plain = json.loads(capsys.readouterr().out)
    assert cli.main([*args, "--enforce-eager"]) == 0
    eager = json.loads(capsys.readouterr().out)
    assert "--enforce-eager" not in plain["serve_command"].split()
    assert "--enforce-eager" in eager["serve_command"].split()


def test_plan_sim_without_a_plan_prints_no_command(capsys: pytest.CaptureFixture[str]) -> None:
    """No plan meets a 1 ms TTFT: no command is printed (nothing that could be copied and miss)."""
    assert cli.main(["plan-sim", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "h100-sxm", "--rate", "1",
                     "--slo", "ttft:p95<1ms", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["recommended_option"] is None and out["serve_command"] == ""


def test_unpriced_plan_prints_a_dash_not_none(capsys: pytest.CaptureFixture[str]) -> None:
    """Without prices the cost lines are not computed: the text output says "—", as the page does."""
    assert cli.main(["plan-sim", "--model", "meta-llama/Llama-3.1-8B-Instruct", "--gpu", "h100-sxm",
                     "--rate", "5"]) == 0
    out = capsys.readouterr().out
    cost = [line for line in out.splitlines() if line.startswith("Cost per hour")]
    assert cost and cost[0].split()[-1] == "—", cost
    assert "None" not in out
