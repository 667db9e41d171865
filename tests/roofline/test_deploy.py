"""Kubernetes manifests from calculators.deploy: schema-valid (kubernetes-validate, Kubernetes 1.37
schemas, strict) and structurally what vLLM's Kubernetes guide asks for."""

from __future__ import annotations

from typing import Any

import pytest

from calculators import deploy, models
from calculators.errors import CalcError

yaml = pytest.importorskip("yaml")
kubernetes_validate = pytest.importorskip("kubernetes_validate")

K8S_VERSION = "1.37.0"  # the newest schema kubernetes-validate 1.37.0 ships


def _docs(tp: int, replicas: int = 2, **kw: Any) -> list[dict[str, Any]]:
    spec = models.load_preset("meta-llama/Llama-3.1-70B-Instruct")
    d = deploy.deployment(spec, tp, replicas, **kw)
    docs = [doc for doc in yaml.safe_load_all(d.manifest) if doc]
    assert all(isinstance(doc, dict) for doc in docs)
    return docs


@pytest.mark.parametrize("tp", [1, 4, 8])
def test_manifest_is_valid_against_the_kubernetes_schema(tp: int) -> None:
    for doc in _docs(tp):
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_manifest_structure() -> None:
    pvc, dep, svc = _docs(4, replicas=3, max_model_len=8192)
    assert [pvc["kind"], dep["kind"], svc["kind"]] == ["PersistentVolumeClaim", "Deployment", "Service"]
    assert dep["spec"]["replicas"] == 3
    pod = dep["spec"]["template"]["spec"]
    (c,) = pod["containers"]
    assert c["resources"]["limits"]["nvidia.com/gpu"] == 4
    assert c["command"] == ["vllm", "serve"]
    assert c["args"][:3] == ["meta-llama/Llama-3.1-70B-Instruct", "--tensor-parallel-size", "4"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"] == {"path": "/health", "port": 8000}
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    assert mounts == {"hf-cache": "/root/.cache/huggingface", "dshm": "/dev/shm"}
    vols = {v["name"]: v for v in pod["volumes"]}
    assert vols["dshm"]["emptyDir"]["medium"] == "Memory"
    assert vols["hf-cache"]["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
    (env,) = c["env"]
    assert env["name"] == "HF_TOKEN" and env["valueFrom"]["secretKeyRef"]["name"] == "hf-token"
    assert svc["spec"]["ports"][0]["port"] == 8000
    assert svc["spec"]["selector"] == dep["spec"]["selector"]["matchLabels"]


def test_no_shm_volume_without_tensor_parallelism() -> None:
    _, dep, _ = _docs(1)
    assert all(v["name"] != "dshm" for v in dep["spec"]["template"]["spec"]["volumes"])


def test_yaml_writer_round_trips_awkward_strings() -> None:
    value: deploy.YamlValue = {"a": ["x: y", "- z", "#no", "yes", "null", "1e3", "é\n\"q\""], "b": {"c": 0, "d": True},
                               "nvidia.com/gpu": 2, "e": [], "f": {}, "g": [{"h": [1, 2]}]}
    assert yaml.safe_load(deploy.to_yaml(value)) == value


@pytest.mark.parametrize("kw", [{"name": "Bad_Name"}, {"namespace": "x" * 80}, {"image": "a b"}])
def test_bad_names_are_refused(kw: dict[str, Any]) -> None:
    with pytest.raises(CalcError):
        _docs(2, **kw)


def test_fp8_on_a_bf16_checkpoint_quantizes_at_load_and_int4_is_refused() -> None:
    spec = models.load_preset("meta-llama/Llama-3.1-8B-Instruct")
    assert "--quantization fp8" in deploy.deployment(spec, 1, weights_dtype="fp8").serve_command
    with pytest.raises(CalcError) as err:
        deploy.deployment(spec, 1, weights_dtype="int4")
    assert err.value.field == "weights-dtype"


def test_cache_volume_holds_the_published_checkpoint_when_vllm_quantises_at_load() -> None:
    """--quantization fp8 quantises a bf16 checkpoint while loading: the volume still downloads the
    bf16 files.  Llama-3.1-70B: 70,553,706,496 parameters (Meta's model card, 70.6B) × 2 bytes =
    131.4 GiB; × 1.2 → 158 GiB."""
    spec = models.load_preset("meta-llama/Llama-3.1-70B-Instruct")
    want = f"{-(-12 * 70_553_706_496 * 2 // (10 * 2**30))}Gi"
    for dtype in ("auto", "fp8"):
        docs = list(yaml.safe_load_all(deploy.deployment(spec, 4, weights_dtype=dtype).manifest))
        pvc = next(d for d in docs if d["kind"] == "PersistentVolumeClaim")
        assert pvc["spec"]["resources"]["requests"]["storage"] == want == "158Gi"


def test_enforce_eager_reaches_the_command_and_the_manifest() -> None:
    """A deployment sized for --enforce-eager (no CUDA graphs) runs the server that way: the flag is in
    the serve command and in the container's arguments; without it, in neither."""
    spec = models.load_preset("meta-llama/Llama-3.1-70B-Instruct")
    for eager in (False, True):
        d = deploy.deployment(spec, 4, 1, enforce_eager=eager)
        (_, dep, _) = [doc for doc in yaml.safe_load_all(d.manifest) if doc]
        (c,) = dep["spec"]["template"]["spec"]["containers"]
        assert ("--enforce-eager" in d.serve_command.split()) is eager
        assert ("--enforce-eager" in c["args"]) is eager
        assert c["args"] == d.serve_command.split()[2:]
