"""vLLM Field Notes calculators: GPU memory, KV cache and vLLM fit, standard library only.

Runs unchanged on CPython 3.11+ and in Pyodide.  Domain modules:
``models`` (config.json → ModelSpec), ``params``, ``memory``, ``hardware``, ``vllm``,
``roofline``, ``planner``; faces: ``cli`` (``python -m calculators``) and ``forms``.
"""

from calculators.errors import CalcError

__all__ = ["CalcError"]
__version__ = "0.1.0"
