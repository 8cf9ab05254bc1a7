"""The cluster's brokers (issue 15): node id, address, controller, leadership and replicas.

Contract: :meth:`BrokersModel.update` takes a :class:`~core.monitor.ClusterSnapshot` and
lists :attr:`ClusterSnapshot.all_brokers` keyed by node id (the embedded broker is one
node), with ``host:port``, "controller" (the Role column) on the cluster's controller (tooltip: what a
controller does), the partitions it leads and the replicas it hosts, counted from the
partitions' ``leader`` / ``replicas``. Plain text throughout (hosts are the cluster's).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from streamscope.core.monitor import ClusterSnapshot
from streamscope.desktop.models.table_model import Column, KeyedTableModel, numeric

CONTROLLER_TIP = ("The controller: the broker that manages the cluster's metadata "
                  "(topic creation, leader elections)")


class BrokersModel(KeyedTableModel):
    columns = (
        numeric("Node", str),
        Column("Host:port"),
        Column("Role", tooltip=CONTROLLER_TIP),
        numeric("Leads", tooltip="partitions this broker leads (serves writes and reads for)"),
        numeric("Replicas", tooltip="partition replicas this broker hosts, led or followed"),
    )
    ROLE = 2

    def update(self, snap: ClusterSnapshot | None) -> None:
        if snap is None:
            self.set_rows(())
            return
        leads: Counter[int] = Counter()
        hosted: Counter[int] = Counter()
        for t in snap.topics:
            for p in t.partitions:
                if p.leader is not None:
                    leads[p.leader] += 1
                for r in p.replicas:
                    hosted[r] += 1
        controller = snap.controller_id
        self.set_rows(
            (
                b.node_id,
                (
                    b.node_id,
                    f"{b.host}:{b.port}" if b.listening else "not listening",
                    "controller" if controller == b.node_id else "",
                    leads[b.node_id],
                    hosted[b.node_id],
                ),
            )
            for b in snap.all_brokers
        )

    def tooltip(self, row: int, col: int) -> Any:
        if col == self.ROLE and self._values[row][self.ROLE]:
            return CONTROLLER_TIP
        return None
