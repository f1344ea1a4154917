"""The mlbench peer protocol for Python programs (docs/peer-protocol.md).

A peer is a variant of an mlbench task implemented outside the engine. The
engine starts it once per repetition and measures the process itself; the
peer only does the work and answers. Subclass Peer and call run():

    import mlbench_peer

    class Ridge(mlbench_peer.Peer):
        def setup(self, params, data, seed):
            self.X = self.load("X_train")          # numpy arrays the engine wrote
        def train(self):
            ...                                     # the timed work
            self.work(items=len(self.X))
            self.metric("r2", 0.5, better="higher")
        def infer(self):
            ...
        def teardown(self):
            pass

    mlbench_peer.run(Ridge())

Only the standard library is imported here; numpy is imported by load() when
a peer asks for data.
"""
import json
import os
import sys
import traceback

PROTOCOL = 1


class PeerError(Exception):
    """Raise to fail the current request with a plain message (no traceback)."""


class Peer:
    def hello(self):
        """Return a dict of what to record about this peer (library versions,
        settings); the engine stores it with each repetition's results."""
        return {}

    def setup(self, params, data, seed):
        pass

    def train(self):
        pass

    def infer(self):
        pass

    def teardown(self):
        pass

    # ---- services ---------------------------------------------------------
    def load(self, name):
        """The array `name` (e.g. "X_train") the engine wrote for this run."""
        import numpy as np
        if name not in self._data:
            raise PeerError(f"no data array '{name}' (have: {', '.join(sorted(self._data)) or 'none'})")
        return np.load(self._data[name])

    def work(self, items=0, tokens=0, steps=0, flops=0):
        for k, v in (("items", items), ("tokens", tokens), ("steps", steps), ("flops", flops)):
            if v:
                self._work[k] = self._work.get(k, 0) + float(v)

    def metric(self, name, value, better="higher", rel_tol=None, abs_tol=None,
               restates_time=False):
        """A quality metric; rel_tol/abs_tol: its margin of equivalence;
        restates_time: the value restates a phase time (recorded, not compared)."""
        if better not in ("higher", "lower"):
            raise ValueError("better must be 'higher' or 'lower'")
        m = {"value": float(value), "better": better}
        if rel_tol is not None:
            m["rel_tol"] = float(rel_tol)
        if abs_tol is not None:
            m["abs_tol"] = float(abs_tol)
        if restates_time:
            m["restates_time"] = True
        self._metrics[name] = m

    def progress(self, step, loss=None, metric=None, value=None):
        """A learning-curve point, sent at once so the engine stamps its time."""
        ev = {"event": "progress", "step": float(step)}
        if loss is not None:
            ev["loss"] = float(loss)
        if metric is not None:
            ev["metric"] = metric
            ev["value"] = float(value)
        self._send(ev)

    def log(self, message):
        self._send({"event": "log", "message": str(message)})


def _answer(peer, ok, error=None, extra=None):
    msg = {"ok": ok}
    if ok:
        msg["work"] = peer._work
        msg["metrics"] = peer._metrics
    else:
        msg["error"] = error
    if extra:
        msg.update(extra)
    peer._send(msg)


def run(peer):
    """Serves requests on stdin until teardown or end of input."""
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    sys.stdout = sys.stderr  # a stray print() must not corrupt the protocol

    def send(msg):
        out.write(json.dumps(msg, allow_nan=False) + "\n")
        out.flush()

    peer._send = send
    peer._data = {}
    for line in sys.stdin:
        try:
            req = json.loads(line)
            op = req["op"]
        except (ValueError, KeyError, TypeError) as e:
            send({"ok": False, "error": f"bad request: {e}"})
            continue
        peer._work, peer._metrics = {}, {}
        try:
            if op == "hello":
                if req.get("protocol") != PROTOCOL:
                    raise PeerError(f"engine speaks protocol {req.get('protocol')}, peer {PROTOCOL}")
                info = dict(peer.hello() or {})
                info.update({"protocol": PROTOCOL, "python": sys.version.split()[0]})
                _answer(peer, True, extra=info)
                continue
            if op == "setup":
                peer._data = dict(req.get("data") or {})
                peer.setup(req.get("params") or {}, peer._data, req.get("seed", 0))
            elif op in ("train", "infer", "teardown"):
                getattr(peer, op)()
            else:
                raise PeerError(f"unknown op '{op}'")
            _answer(peer, True)
        except PeerError as e:
            _answer(peer, False, error=str(e))
        except Exception as e:  # report, keep the traceback on stderr
            traceback.print_exc()
            _answer(peer, False, error=f"{type(e).__name__}: {e}")
        if op == "teardown":
            break
