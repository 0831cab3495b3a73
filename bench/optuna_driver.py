"""Optuna over JSON lines, for arqon's side-by-side benchmarks.

Node drives this process: it sends one JSON object per line on stdin and reads one JSON object
per line on stdout. Node evaluates the objective; this side only runs Optuna's ask/tell, so both
libraries see exactly the same function. Library overhead is timed here, with
time.perf_counter_ns(), so that the pipe's round trip is excluded.

Requests (each gets exactly one reply; every reply has "ok"):
  {"op": "hello"}                                   -> versions and sampler settings
  {"op": "study", "seed": 1, "names": [...], "low": [...], "high": [...], "sampler": "tpe"}
                                                    -> starts a fresh in-memory study (minimise)
  {"op": "ask"}                                     -> {"number", "params": [...], "ns"}
  {"op": "tell", "number": 0, "value": 1.5}         -> {"ns"}
  {"op": "quit"}                                    -> exits after replying
Errors reply {"ok": false, "error": "..."} and the process keeps serving.
"""

import json
import platform
import sys
import time


def main() -> None:
    try:
        import optuna
    except Exception as error:  # report, then serve nothing but the reason
        reply({"ok": False, "error": f"cannot import optuna: {error!r}"})
        return
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    session = Session(optuna)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
            op = request.get("op")
            if op == "quit":
                reply({"ok": True})
                return
            handler = getattr(session, f"op_{op}", None)
            if handler is None:
                reply({"ok": False, "error": f"unknown op {op!r}"})
                continue
            reply({"ok": True, **handler(request)})
        except Exception as error:
            reply({"ok": False, "error": repr(error)})


def reply(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


class Session:
    def __init__(self, optuna) -> None:
        self.optuna = optuna
        self.study = None
        self.names: list[str] = []
        self.low: list[float] = []
        self.high: list[float] = []
        self.trials: dict = {}

    def op_hello(self, _request: dict) -> dict:
        import numpy

        return {
            "optuna": self.optuna.__version__,
            "numpy": numpy.__version__,
            "python": platform.python_version(),
            "sampler": "TPESampler(seed=seed) with v5 defaults (multivariate)",
        }

    def op_study(self, request: dict) -> dict:
        kind = request.get("sampler", "tpe")
        seed = int(request["seed"])
        if kind == "tpe":
            sampler = self.optuna.samplers.TPESampler(seed=seed)
        elif kind == "random":
            sampler = self.optuna.samplers.RandomSampler(seed=seed)
        else:
            raise ValueError(f"unknown sampler {kind!r}")
        self.study = self.optuna.create_study(direction="minimize", sampler=sampler)
        self.names = list(request["names"])
        self.low = [float(v) for v in request["low"]]
        self.high = [float(v) for v in request["high"]]
        self.trials = {}
        return {"sampler": type(sampler).__name__}

    def op_ask(self, _request: dict) -> dict:
        study = self.study
        if study is None:
            raise RuntimeError("ask before study")
        names, low, high = self.names, self.low, self.high
        start = time.perf_counter_ns()
        trial = study.ask()
        params = [trial.suggest_float(names[i], low[i], high[i]) for i in range(len(names))]
        elapsed = time.perf_counter_ns() - start
        self.trials[trial.number] = trial
        return {"number": trial.number, "params": params, "ns": elapsed}

    def op_tell(self, request: dict) -> dict:
        study = self.study
        if study is None:
            raise RuntimeError("tell before study")
        trial = self.trials.pop(int(request["number"]))
        value = float(request["value"])
        start = time.perf_counter_ns()
        study.tell(trial, value)
        elapsed = time.perf_counter_ns() - start
        return {"ns": elapsed}


if __name__ == "__main__":
    main()
