"""A test peer with no third-party modules: misbehaves on request (param
`mode`) so that the bridge's failure handling can be tested end to end."""
import os
import signal
import struct
import subprocess
import sys
import time

import mlbench_peer


class TestPeer(mlbench_peer.Peer):
    def setup(self, params, data, seed):
        self.mode = params["mode"]
        self.ms = params["ms"]
        self.data = data
        self.buf = None
        print("testpeer: setup in mode", self.mode, file=sys.stderr)
        if self.mode == "exit_setup":
            sys.stderr.write("testpeer: exiting on purpose\n")
            sys.stderr.flush()
            os._exit(4)
        if self.mode == "data":
            for name in ("X_train", "y_train"):
                if name not in data or not os.path.exists(data[name]):
                    raise mlbench_peer.PeerError(f"missing data file {name}")
            with open(data["X_train"], "rb") as f:
                raw = f.read()
            if raw[:6] != b"\x93NUMPY" or raw[6] != 1:
                raise mlbench_peer.PeerError("X_train is not an .npy 1.0 file")
            hlen = struct.unpack("<H", raw[8:10])[0]
            header = raw[10:10 + hlen].decode("latin1")
            if "'<f8'" not in header or "(3, 2)" not in header:
                raise mlbench_peer.PeerError(f"unexpected X_train header {header!r}")
            body = raw[10 + hlen:]
            self.x_sum = sum(struct.unpack(f"<{len(body) // 8}d", body))

    def train(self):
        m = self.mode
        if m == "crash":
            os.kill(os.getpid(), signal.SIGSEGV)
        if m == "garbage":
            sys.__stdout__.write("this is not json\n")
            sys.__stdout__.flush()
            os.write(1, b"this is not json\n")
        if m == "noreply":
            os.write(1, b'{"hello": "no ok field"}\n')
        if m == "hang":
            time.sleep(3600)
        if m in ("orphan_exit", "spawn"):
            # A process of its own that holds the peer's stdout (the
            # engine's pipe) open; orphan_exit then dies without answering.
            subprocess.Popen(["/bin/sleep", "1000"], stdout=sys.__stdout__,
                             start_new_session=True)
            if m == "orphan_exit":
                os._exit(5)
        if m == "error":
            raise ValueError("deliberate peer failure")
        if m == "alloc_stream":
            # Grows while it talks: a peer that keeps the engine busy reading
            # events must still be held to --mem-limit.
            self.buf = []
            for i in range(300):
                chunk = bytearray(2**20)
                chunk[::4096] = b"\x01" * 256
                self.buf.append(chunk)
                self.log(f"allocated {i + 1} MiB")
                time.sleep(0.002)
        if m == "alloc":
            self.buf = bytearray(300 * 2**20)
            self.buf[::4096] = b"\x01" * len(range(0, len(self.buf), 4096))
            self.metric("touched", sum(self.buf[::4096]))
        if m in ("ok", "data", "alloc"):
            t0 = time.monotonic()
            while time.monotonic() - t0 < self.ms / 1000.0:
                pass
            for epoch in (1, 2):
                self.progress(epoch, loss=1.0 / epoch, metric="accuracy", value=0.5 + 0.2 * epoch)
        self.work(items=100)
        if m == "data":
            self.metric("x_sum", self.x_sum)
        self.metric("accuracy", 0.9)
        self.metric("loss", 0.1, better="lower")

    def infer(self):
        self.work(items=1)

    def teardown(self):
        self.buf = None


mlbench_peer.run(TestPeer())
