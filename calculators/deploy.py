"""Deployment output for a plan: the ``vllm serve`` command and Kubernetes manifests as YAML text.

The manifests follow vLLM's Kubernetes guide (docs.vllm.ai, "Deployment → Kubernetes"): a
Deployment running the ``vllm/vllm-openai`` image with ``nvidia.com/gpu`` limits equal to the
tensor-parallel size, a memory-backed ``emptyDir`` at ``/dev/shm`` when tp > 1 (NCCL and the
workers share memory through it; the container default of 64 MiB is too small), readiness and
liveness probes on ``GET /health`` port 8000 (a startup probe gives model loading time first), the
Hugging Face cache on a PersistentVolumeClaim at ``/root/.cache/huggingface`` and ``HF_TOKEN``
from a Secret; a ClusterIP Service on port 8000.  The YAML is written by :func:`to_yaml` (no
third-party YAML library in the package): block style, every string double-quoted as JSON, which
YAML 1.2 reads unchanged.
"""

from __future__ import annotations

import json
import math
import re
import shlex
from dataclasses import dataclass

from calculators import memory, vllm
from calculators.errors import CalcError
from calculators.models import ModelSpec

PORT = 8000
DEFAULT_IMAGE = "vllm/vllm-openai:v0.33.0"
GIB = 1 << 30
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

YamlValue = str | int | float | bool | None | list["YamlValue"] | dict[str, "YamlValue"]


@dataclass(frozen=True)
class Deployment:
    serve_command: str
    manifest: str  # YAML: PersistentVolumeClaim, Deployment, Service (three documents)
    name: str
    replicas: int
    tp: int


def _scalar(v: str | int | float | bool | None) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        if isinstance(v, float) and not math.isfinite(v):
            raise CalcError("manifest", "a number in the manifest is not finite")
        return repr(v)
    return json.dumps(v, ensure_ascii=False)


def to_yaml(value: YamlValue, indent: int = 0) -> str:
    """Block-style YAML of nested dicts/lists/scalars; strings as JSON double-quoted scalars."""
    pad = " " * indent
    if isinstance(value, dict):
        if not value:
            return pad + "{}\n"
        out = []
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v:
                out.append(f"{pad}{_scalar(k) if not re.fullmatch(r'[A-Za-z_][A-Za-z0-9_.-]*', k) else k}:\n")
                out.append(to_yaml(v, indent + 2))
            else:
                key = k if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", k) else _scalar(k)
                out.append(f"{pad}{key}: {_inline(v)}\n")
        return "".join(out)
    if isinstance(value, list):
        if not value:
            return pad + "[]\n"
        out = []
        for item in value:
            if isinstance(item, dict) and item:
                body = to_yaml(item, indent + 2)
                out.append(pad + "- " + body[indent + 2:])
            elif isinstance(item, list) and item:
                out.append(pad + "-\n" + to_yaml(item, indent + 2))
            else:
                out.append(f"{pad}- {_inline(item)}\n")
        return "".join(out)
    return pad + _scalar(value) + "\n"


def _inline(v: YamlValue) -> str:
    if isinstance(v, dict):
        return "{}"
    if isinstance(v, list):
        return "[]"
    return _scalar(v)


def _check_name(name: str, field: str = "name") -> str:
    if not isinstance(name, str) or len(name) > 50 or not _NAME.match(name):
        raise CalcError(field, "must be a DNS-1123 label (lower-case letters, digits, '-', ≤ 50 characters), "
                               f"got {str(name)[:60]!r}")
    return name


def default_name(model_id: str) -> str:
    """A DNS-1123 name from a model id: ``meta-llama/Llama-3.1-8B`` → ``llama-3-1-8b``."""
    base = model_id.rsplit("/", 1)[-1].lower()
    name = re.sub(r"[^a-z0-9]+", "-", base).strip("-")[:40].strip("-")
    return name or "vllm"


def serve_args(spec: ModelSpec, tp: int, max_model_len: int | None, gpu_memory_utilization: float,
               kv_cache_dtype: str, weights_dtype: str = "auto", enforce_eager: bool = False) -> list[str]:
    """``vllm serve`` arguments (after ``vllm serve``): :func:`calculators.vllm.serve_command`'s flags
    with the weights flags of :func:`calculators.vllm.weights_flags` (``--quantization fp8`` or
    ``bitsandbytes`` at load time, ``--dtype``), plus ``--port``.  A format vLLM cannot load from
    this checkpoint (int4/int8/MXFP4 of a 16-bit one) is refused with the fix: no manifest is
    generated that would not do what was sized."""
    flags, warnings = vllm.weights_flags(spec, weights_dtype)
    if warnings:
        raise CalcError("weights-dtype", warnings[0])
    cmd = vllm.serve_command(spec.model_id, tp=tp, max_model_len=max_model_len,
                             gpu_memory_utilization=gpu_memory_utilization, kv_cache_dtype=kv_cache_dtype,
                             extra=(*flags, *(("--enforce-eager",) if enforce_eager else ())))
    args = shlex.split(cmd)[2:]
    return args + ["--port", str(PORT)]


def deployment(spec: ModelSpec, tp: int, replicas: int = 1, name: str | None = None, namespace: str = "default",
               image: str = DEFAULT_IMAGE, max_model_len: int | None = None, gpu_memory_utilization: float = 0.92,
               kv_cache_dtype: str = "auto", weights_dtype: str = "auto", hf_secret: str = "hf-token",
               cache_gib: int | None = None, shm_gib: int = 16, enforce_eager: bool = False) -> Deployment:
    """The serve command and PVC + Deployment + Service YAML for ``replicas`` replicas of ``tp`` GPUs.

    The cache volume holds the checkpoint as downloaded (not the format vLLM quantises it to when
    it loads): default ⌈1.2 × checkpoint bytes ÷ GiB⌉ (20 % for tokenizer files and a second
    revision), ReadWriteMany so that replicas on several nodes share it.
    """
    if isinstance(replicas, bool) or not isinstance(replicas, int) or not 1 <= replicas <= 10_000:
        raise CalcError("replicas", f"must be a whole number from 1 to 10000, got {replicas!r}")
    nm = _check_name(name or default_name(spec.model_id))
    _check_name(namespace, "namespace")
    if not re.fullmatch(r"[A-Za-z0-9./:_@-]{1,200}", image):
        raise CalcError("image", f"not an image reference: {image[:60]!r}")
    _check_name(hf_secret, "hf-secret")
    # the volume holds the checkpoint as published, whatever vLLM quantises it to at load time
    checkpoint = memory.weights_memory(spec, "auto", tp=tp)
    size = cache_gib if cache_gib is not None else max(1, math.ceil(1.2 * checkpoint.bytes_total / GIB))
    args = serve_args(spec, tp, max_model_len, gpu_memory_utilization, kv_cache_dtype, weights_dtype, enforce_eager)
    serve = " ".join(["vllm", "serve", *(shlex.quote(a) for a in args)])
    labels: dict[str, YamlValue] = {"app.kubernetes.io/name": nm, "app.kubernetes.io/component": "vllm"}
    probe: dict[str, YamlValue] = {"httpGet": {"path": "/health", "port": PORT}}
    mounts: list[YamlValue] = [{"name": "hf-cache", "mountPath": "/root/.cache/huggingface"}]
    volumes: list[YamlValue] = [{"name": "hf-cache", "persistentVolumeClaim": {"claimName": f"{nm}-hf-cache"}}]
    if tp > 1:
        mounts.append({"name": "dshm", "mountPath": "/dev/shm"})
        volumes.append({"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": f"{shm_gib}Gi"}})
    container: dict[str, YamlValue] = {
        "name": "vllm",
        "image": image,
        "command": ["vllm", "serve"],
        "args": list[YamlValue](args),
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "env": [{"name": "HF_TOKEN",
                 "valueFrom": {"secretKeyRef": {"name": hf_secret, "key": "token", "optional": True}}}],
        "resources": {"limits": {"nvidia.com/gpu": tp}, "requests": {"nvidia.com/gpu": tp}},
        "volumeMounts": mounts,
        "startupProbe": {**probe, "periodSeconds": 10, "failureThreshold": 180},
        "readinessProbe": {**probe, "periodSeconds": 5, "failureThreshold": 3},
        "livenessProbe": {**probe, "periodSeconds": 10, "failureThreshold": 3},
    }
    meta: dict[str, YamlValue] = {"name": nm, "namespace": namespace, "labels": labels}
    pvc: dict[str, YamlValue] = {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": f"{nm}-hf-cache", "namespace": namespace, "labels": labels},
        "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": f"{size}Gi"}}},
    }
    dep: dict[str, YamlValue] = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container], "volumes": volumes}},
        },
    }
    svc: dict[str, YamlValue] = {
        "apiVersion": "v1", "kind": "Service", "metadata": meta,
        "spec": {"type": "ClusterIP", "selector": labels,
                 "ports": [{"name": "http", "port": PORT, "targetPort": PORT, "protocol": "TCP"}]},
    }
    header = (f"# {spec.model_id}: {replicas} replica(s) × {tp} GPU(s); generated by vLLM Field Notes.\n"
              f"# Create the token first: kubectl create secret generic {hf_secret} --from-literal=token=hf_...\n")
    manifest = header + "---\n".join(to_yaml(doc) for doc in (pvc, dep, svc))
    return Deployment(serve_command=serve, manifest=manifest, name=nm, replicas=replicas, tp=tp)
