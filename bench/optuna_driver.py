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
  {"op": "mixed_study", "seed": 1, "space": [...], "sampler": "tpe"}
                                                    -> the same for a mixed space: each entry is
                                                       {"name", "type": "float"|"int"|"categorical",
                                                        "low", "high", "step", "log", "choices",
                                                        "when": {parent: [choices]} or null},
                                                       parents listed before their children
  {"op": "mixed_ask"}                               -> {"number", "params": {name: value}, "ns"}:
                                                       suggest_float / suggest_int(step, log) /
                                                       suggest_categorical, a conditional one only
                                                       inside the branch where its condition holds
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
        self.space: list[dict] = []

    def op_hello(self, _request: dict) -> dict:
        import numpy

        return {
            "optuna": self.optuna.__version__,
            "numpy": numpy.__version__,
            "python": platform.python_version(),
            "sampler": "TPESampler(seed=seed) with v5 defaults (multivariate)",
            "mixed_sampler": "TPESampler(seed=seed) with v5 defaults (multivariate, group=False)",
        }

    def new_study(self, request: dict):
        kind = request.get("sampler", "tpe")
        seed = int(request["seed"])
        if kind == "tpe":
            sampler = self.optuna.samplers.TPESampler(seed=seed)
        elif kind == "tpe-group":  # not a default: for comparisons only (B1 uses "tpe")
            sampler = self.optuna.samplers.TPESampler(seed=seed, multivariate=True, group=True)
        elif kind == "random":
            sampler = self.optuna.samplers.RandomSampler(seed=seed)
        else:
            raise ValueError(f"unknown sampler {kind!r}")
        self.study = self.optuna.create_study(direction="minimize", sampler=sampler)
        self.trials = {}
        return sampler

    def op_study(self, request: dict) -> dict:
        sampler = self.new_study(request)
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

    def op_mixed_study(self, request: dict) -> dict:
        space = list(request["space"])
        seen: set[str] = set()
        for entry in space:
            for parent in (entry.get("when") or {}):
                if parent not in seen:
                    raise ValueError(f"{entry['name']}: parent {parent!r} must come first")
            seen.add(entry["name"])
        sampler = self.new_study(request)
        self.space = space
        return {"sampler": type(sampler).__name__}

    def op_mixed_ask(self, _request: dict) -> dict:
        study = self.study
        if study is None:
            raise RuntimeError("ask before study")
        start = time.perf_counter_ns()
        trial = study.ask()
        params: dict = {}
        # The define-by-run form of a conditional space: each suggest happens only inside the
        # branch where its condition holds (what `if optimizer == "sgd": suggest_float(...)` does).
        for entry in self.space:
            when = entry.get("when") or {}
            if not all(parent in params and params[parent] in values for parent, values in when.items()):
                continue
            name, kind = entry["name"], entry["type"]
            if kind == "categorical":
                params[name] = trial.suggest_categorical(name, entry["choices"])
            elif kind == "int":
                params[name] = trial.suggest_int(
                    name, int(entry["low"]), int(entry["high"]), step=int(entry.get("step") or 1),
                    log=bool(entry.get("log")),
                )
            else:
                params[name] = trial.suggest_float(
                    name, float(entry["low"]), float(entry["high"]), log=bool(entry.get("log"))
                )
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
