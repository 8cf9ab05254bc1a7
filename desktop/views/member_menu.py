"""The context menu of a group's members table: act on one in-process member.

Contract: :class:`MemberMenu` installs itself on a members table (rows keyed by member
id) and, on a right click (or the menu key) over a row, selects that row and pops up:

* Stop gracefully: the consumer commits and sends LeaveGroup; the group rebalances at once.
* Kill abruptly: it stops dead, with no commit and no LeaveGroup, so the coordinator only
  drops it when its session times out (the heartbeat column shows the wait).
* Pause / Resume: it keeps heartbeating and keeps its partitions but hands out no records,
  so their lag grows; resume picks up where it stopped.

Only consumers this app started can be acted on (the service says which member ids those
are, as of the last snapshot); for any other member the actions are shown disabled with
the reason. Each action is one command; ``on_done(result, error)`` gets its outcome on
the GUI thread. ``menu`` is the last menu built (tests trigger its actions).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QPoint, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu
from streamscope.desktop.broker_service import OnDone
from streamscope.desktop.commands import Commands
from streamscope.desktop.models.table_model import KEY_ROLE
from streamscope.desktop.views.table import KeyedTableView

NOT_LOCAL = "Only consumers started in this app can be stopped, killed or paused here"


class MemberMenu(QObject):
    def __init__(
        self,
        table: KeyedTableView,
        commands: Commands,
        group_id: Callable[[], str | None],
        on_done: OnDone | None = None,
    ) -> None:
        super().__init__(table)
        self.table = table
        self.commands = commands
        self.group_id = group_id
        self.on_done = on_done
        self.menu: QMenu | None = None
        self.stop_action: QAction | None = None
        self.kill_action: QAction | None = None
        self.pause_action: QAction | None = None
        self.resume_action: QAction | None = None
        table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        table.customContextMenuRequested.connect(self._requested)

    def _requested(self, pos: QPoint) -> None:
        index = self.table.indexAt(pos)
        if not index.isValid():
            return
        member_id = index.data(KEY_ROLE)
        if member_id is None:
            return
        self.table.select_key(member_id)
        menu = self.build(str(member_id))
        if menu is not None:
            menu.popup(self.table.viewport().mapToGlobal(pos))

    def build(self, member_id: str) -> QMenu | None:
        """The menu for ``member_id`` of the current group (None when no group is shown)."""
        group = self.group_id()
        if group is None:
            return None
        if self.menu is not None:
            self.menu.deleteLater()
        local = self.commands.local_member(group, member_id)
        menu = QMenu(self.table)
        if local is not None:
            state = "paused" if local.paused else local.status
            # '&' would be taken as a mnemonic marker: a client id is shown as typed.
            title = menu.addAction(f"{local.client_id} · {state}".replace("&", "&&"))
            title.setEnabled(False)
            menu.addSeparator()

        def act(text: str, tip: str, run: Callable[[str, str, OnDone | None], None]) -> QAction:
            action = menu.addAction(text)
            action.setToolTip(tip if local is not None else NOT_LOCAL)
            action.triggered.connect(lambda: run(group, member_id, self.on_done))
            return action

        self.stop_action = act(
            "Stop gracefully",
            "Commit, then leave the group (LeaveGroup): the group rebalances at once",
            self.commands.stop_member,
        )
        self.kill_action = act(
            "Kill abruptly",
            "Stop dead: no commit, no LeaveGroup; the group notices at the session timeout",
            self.commands.kill_member,
        )
        menu.addSeparator()
        self.pause_action = act(
            "Pause",
            "Keep the partitions and heartbeats, hand out no records: lag builds up",
            self.commands.pause_member,
        )
        self.resume_action = act(
            "Resume", "Consume again from where it paused", self.commands.resume_member
        )
        menu.setToolTipsVisible(True)
        alive = local is not None and local.status not in ("closed", "dead")
        self.stop_action.setEnabled(alive)
        self.kill_action.setEnabled(alive)
        self.pause_action.setEnabled(alive and local is not None and not local.paused)
        self.resume_action.setEnabled(alive and local is not None and local.paused)
        if local is None:
            menu.addSeparator()
            why = menu.addAction(NOT_LOCAL)
            why.setEnabled(False)
        self.menu = menu
        return menu
