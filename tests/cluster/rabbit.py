"""A RabbitMQ cluster of three nodes on this machine, for the tests that need one: each node with
its own name, AMQP port, data and log folders and configuration file, joined into one cluster.

The machine's own broker (rabbit@localhost, 5672) is left alone: /etc/rabbitmq pins its listener,
so each node here has its own configuration (`RABBITMQ_CONFIG_FILE`) and environment file
(`RABBITMQ_CONF_ENV_FILE`). The nodes run as the `rabbitmq` user, as the packaged broker does,
so their folders belong to that user, and they share its Erlang cookie. Starting three nodes and
joining them takes about half a minute.

    python -m tests.cluster.rabbit up      # start the three nodes, print their URLs
    python -m tests.cluster.rabbit down    # stop them and remove their folders
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BASE = Path(os.environ.get("GATEWAY_TEST_CLUSTER_DIR", "/tmp/gateway-rabbit-cluster"))
FIRST_PORT = 5681  # node n listens on FIRST_PORT + n - 1, its distribution port 20000 above
CTL_TIMEOUT = 60


@dataclass(frozen=True)
class Node:
    index: int
    base: Path

    @property
    def name(self) -> str:
        return f"gwtest{self.index}@localhost"

    @property
    def port(self) -> int:
        return FIRST_PORT + self.index - 1

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    @property
    def folder(self) -> Path:
        return self.base / f"node{self.index}"

    def environment(self) -> dict[str, str]:
        """The variables that give this node its own everything."""
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.port + 20000),
            "RABBITMQ_CONFIG_FILE": str(self.folder / "rabbitmq.conf"),
            "RABBITMQ_CONF_ENV_FILE": str(self.folder / "rabbitmq-env.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.folder / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.folder / "log"),
            "RABBITMQ_PID_FILE": str(self.folder / "rabbit.pid"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    def prepare(self) -> None:
        for sub in ("mnesia", "log"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        (self.folder / "rabbitmq.conf").write_text(
            f"listeners.tcp.local = 127.0.0.1:{self.port}\nlog.console = false\n"
        )
        (self.folder / "rabbitmq-env.conf").write_text(
            'export ERL_FLAGS="-kernel inet_dist_use_interface {127,0,0,1}"\n'
        )
        (self.folder / "enabled_plugins").write_text("[].\n")

    def ctl(self, *args: str, check: bool = True, timeout: float = CTL_TIMEOUT) -> str:
        """`rabbitmqctl -n <node> ARGS`; its output."""
        done = subprocess.run(
            ["rabbitmqctl", "-q", "-n", self.name, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.environment(),
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"rabbitmqctl -n {self.name} {' '.join(args)}: {done.stderr.strip() or done.stdout}")
        return done.stdout

    def start(self) -> None:
        """Starts the node's Erlang VM and RabbitMQ, and waits until it answers."""
        subprocess.run(
            ["rabbitmq-server", "-detached"], env=self.environment(), check=True, timeout=CTL_TIMEOUT,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.wait()

    def wait(self, seconds: float = 90) -> None:
        deadline = time.monotonic() + seconds
        while True:
            try:
                self.ctl("await_startup", timeout=min(30, max(1, deadline - time.monotonic())))
                return
            except (RuntimeError, subprocess.TimeoutExpired):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} did not start; its logs: {self.folder / 'log'}") from None
                time.sleep(1)

    def pid(self) -> int | None:
        try:
            return int((self.folder / "rabbit.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def alive(self) -> bool:
        pid = self.pid()
        return pid is not None and Path(f"/proc/{pid}").exists()

    def kill(self) -> None:
        """SIGKILL to the node's VM: no goodbye to the cluster, as when a machine dies."""
        pid = self.pid()
        if pid is not None:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                return
            while Path(f"/proc/{pid}").exists():
                time.sleep(0.05)

    def stop(self) -> None:
        if self.alive():
            self.ctl("stop", check=False)
        self.kill()


class RabbitCluster:
    """Three nodes joined into one cluster; `urls` is what AMQP_URL takes."""

    def __init__(self, base: Path = BASE, size: int = 3) -> None:
        self.base = base
        self.nodes = [Node(i, base) for i in range(1, size + 1)]

    @property
    def urls(self) -> str:
        return ",".join(node.url for node in self.nodes)

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def up(self) -> None:
        """Starts every node from empty folders and joins the others to the first."""
        self.down()
        self.base.mkdir(parents=True, exist_ok=True)
        os.chmod(self.base, 0o755)
        for node in self.nodes:
            node.prepare()
        user = pwd.getpwnam("rabbitmq")
        for path in [self.base, *self.base.rglob("*")]:
            os.chown(path, user.pw_uid, user.pw_gid)
        first, *others = self.nodes
        first.start()
        for node in others:
            node.start()
            node.ctl("stop_app")
            node.ctl("join_cluster", first.name)
            node.ctl("start_app")
        running = json.loads(first.ctl("cluster_status", "--formatter", "json"))["running_nodes"]
        if sorted(running) != sorted(n.name for n in self.nodes):
            raise RuntimeError(f"the cluster runs {running}, not the {len(self.nodes)} nodes started")

    def down(self) -> None:
        for node in self.nodes:
            node.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    def leader_of(self, queue: str) -> Node:
        """The node that leads the quorum queue `queue`."""
        for node in self.nodes:
            if node.alive():
                rows = json.loads(node.ctl("list_queues", "name", "leader", "--formatter", "json"))
                for row in rows:
                    if row["name"] == queue:
                        return self.node(row["leader"])
        raise LookupError(f"no live node knows the queue {queue}")


def main() -> int:
    cluster = RabbitCluster()
    if sys.argv[1:] == ["up"]:
        started = time.monotonic()
        cluster.up()
        print(f"three nodes up in {time.monotonic() - started:.0f} s: AMQP_URL={cluster.urls}")
        return 0
    if sys.argv[1:] == ["down"]:
        cluster.down()
        return 0
    print("usage: python -m tests.cluster.rabbit up|down", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
