"""Cluster > Connection profiles…: add, edit and delete the external clusters (issue 15).

Contract:

* The list on the left holds the saved :class:`~desktop.profiles.Profile` s (New adds a
  blank one); the form on the right edits the selected one: name, bootstrap servers,
  security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL), SASL mechanism (PLAIN,
  SCRAM-SHA-256, SCRAM-SHA-512), username, password, CA file (a file picker) and the poll
  interval. Fields that do not apply to the protocol are disabled.
* Validation runs live (:func:`~desktop.profiles.profile_problem`, whose texts are
  ExternalSettings' own ``ValueError`` texts): what is wrong is shown inline and Save
  stays disabled. Save writes the profile to the ``QSettings`` store WITHOUT the
  password; a password typed goes to the :class:`~desktop.profiles.PasswordVault` (the
  system keyring when usable, else memory for the session, asked for again at the next
  start), on a worker thread (keyring calls may block). Delete removes both.
* Test connection runs :meth:`ExternalObserver.snapshot` on a worker thread with what the
  form says (the password typed, else the vault's) and shows "Connected: N brokers,
  M topics" or the clear error (unreachable, authentication failed, TLS failure) as plain
  text. ``tests_done`` counts finished tests; ``profiles_changed`` fires after a save or a
  delete.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QLineEdit,
    QListWidget,
    QPushButton,
    QWidget,
)
from streamscope.core.monitor.external import (
    SASL_MECHANISMS,
    SECURITY_PROTOCOLS,
    ExternalObserver,
)
from streamscope.desktop.commands import error_text
from streamscope.desktop.layout import hbox, named, plain_label, vbox
from streamscope.desktop.profiles import (
    DEFAULT_INTERVAL_S,
    MIN_INTERVAL_S,
    PasswordVault,
    Profile,
    ProfileStore,
    profile_problem,
)
from streamscope.desktop.views.browser_worker import BrowseWorker

TEST_TIMEOUT_S = 8.0
NEW = "(new profile)"


def connection_summary(snap) -> str:
    n, m = len(snap.all_brokers), len(snap.topics)
    return (f"Connected: {n} broker{'s' if n != 1 else ''}, "
            f"{m} topic{'s' if m != 1 else ''}")


def check_connection(profile: Profile, password: str | None, timeout_s: float) -> str:
    """Blocking: one snapshot of the cluster; the summary line, or ExternalError."""
    with ExternalObserver(profile.external_settings(password), timeout_s=timeout_s) as obs:
        return connection_summary(obs.snapshot())


class ProfilesDialog(QDialog):
    profiles_changed = Signal()

    def __init__(self, store: ProfileStore, vault: PasswordVault,
                 parent: QWidget | None = None, *, select: str | None = None,
                 test_timeout_s: float = TEST_TIMEOUT_S) -> None:
        super().__init__(parent)
        self.setWindowTitle("Connection profiles")
        self.setModal(True)
        self.setMinimumWidth(720)
        self.store = store
        self.vault = vault
        self.test_timeout_s = test_timeout_s
        self.worker = BrowseWorker(self, "streamscope-profiles")
        self.tests_done = 0
        self.saves_done = 0
        self.testing = False
        self._editing: str | None = None  # the saved name of the profile in the form

        layout = vbox(self, (18, 16, 18, 14), spacing=10)
        body = QWidget()
        row = hbox(body, spacing=14)
        left = QWidget()
        left_box = vbox(left, spacing=6)
        self.list = named(QListWidget(), "ProfileList")
        self.list.setFixedWidth(200)
        left_box.addWidget(self.list, 1)
        buttons = QWidget()
        bb = hbox(buttons, spacing=6)
        self.new_button = QPushButton("New")
        self.delete_button = QPushButton("Delete")
        bb.addWidget(self.new_button)
        bb.addWidget(self.delete_button)
        left_box.addWidget(buttons)
        row.addWidget(left)

        right = QWidget()
        form = QFormLayout(right)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.name = QLineEdit()
        self.bootstrap = QLineEdit()
        self.bootstrap.setPlaceholderText("host1:9092,host2:9092")
        self.protocol = QComboBox()
        self.protocol.addItems(SECURITY_PROTOCOLS)
        self.mechanism = QComboBox()
        self.mechanism.addItems(SASL_MECHANISMS)
        self.username = QLineEdit()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        ca_row = QWidget()
        ca_box = hbox(ca_row, spacing=6)
        self.ca_file = QLineEdit()
        self.ca_file.setPlaceholderText("the CA certificate (PEM) that signed the brokers'")
        self.ca_browse = QPushButton("Browse…")
        ca_box.addWidget(self.ca_file, 1)
        ca_box.addWidget(self.ca_browse)
        self.interval = QDoubleSpinBox()
        self.interval.setRange(MIN_INTERVAL_S, 600.0)
        self.interval.setDecimals(1)
        self.interval.setSingleStep(0.5)
        self.interval.setSuffix(" s")
        self.interval.setValue(DEFAULT_INTERVAL_S)
        self.interval.setToolTip("How often the cluster is polled while it is shown")
        form.addRow("Name", self.name)
        form.addRow("Bootstrap servers", self.bootstrap)
        form.addRow("Security protocol", self.protocol)
        form.addRow("SASL mechanism", self.mechanism)
        form.addRow("Username", self.username)
        form.addRow("Password", self.password)
        form.addRow("CA file", ca_row)
        form.addRow("Poll every", self.interval)
        self.keyring_note = named(plain_label(""), "Muted")
        self.keyring_note.setWordWrap(True)
        form.addRow("", self.keyring_note)
        row.addWidget(right, 1)
        layout.addWidget(body, 1)

        self.problem = named(plain_label(""), "ErrorLabel")
        self.problem.setWordWrap(True)
        layout.addWidget(self.problem)
        test_row = QWidget()
        tr = hbox(test_row, spacing=10)
        self.test_button = QPushButton("Test connection")
        self.test_result = named(plain_label(""), "TestResult")
        self.test_result.setWordWrap(True)
        # Room for a cluster's error in three lines: a wrapped label beside a button is
        # not given its height-for-width by the row, so the last line was cut off.
        self.test_result.setMinimumHeight(self.test_result.fontMetrics().lineSpacing() * 3 + 6)
        self.test_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        tr.addWidget(self.test_button)
        tr.addWidget(self.test_result, 1)
        layout.addWidget(test_row)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Close)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.buttons.rejected.connect(self.reject)
        self.save_button.clicked.connect(self.save)
        layout.addWidget(self.buttons)

        for field in (self.name, self.bootstrap, self.username, self.password, self.ca_file):
            field.textChanged.connect(self.revalidate)
        self.protocol.currentIndexChanged.connect(self.revalidate)
        self.mechanism.currentIndexChanged.connect(self.revalidate)
        self.interval.valueChanged.connect(self.revalidate)
        self.list.currentTextChanged.connect(self._selected)
        self.new_button.clicked.connect(self.new_profile)
        self.delete_button.clicked.connect(self.delete_profile)
        self.test_button.clicked.connect(self.test)
        self.ca_browse.clicked.connect(self._browse_ca)
        self._reload(select)
        if self.list.count() == 0:
            self.new_profile()

    # -- the list ---------------------------------------------------------------------

    def _reload(self, select: str | None = None) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for p in self.store.profiles():
            self.list.addItem(p.name)
        self.list.blockSignals(False)
        names = [self.list.item(i).text() for i in range(self.list.count())]
        if select in names:
            self.list.setCurrentRow(names.index(select))
        elif names:
            self.list.setCurrentRow(0)
        self._selected(self.list.currentItem().text() if self.list.currentItem() else "")

    def _selected(self, name: str) -> None:
        profile = self.store.find(name) if name and name != NEW else None
        self.load(profile)

    def new_profile(self) -> None:
        items = self.list.findItems(NEW, Qt.MatchFlag.MatchExactly)
        if not items:
            self.list.addItem(NEW)
            items = self.list.findItems(NEW, Qt.MatchFlag.MatchExactly)
        self.list.setCurrentItem(items[0])
        self.load(None)
        self.name.setFocus()

    def load(self, profile: Profile | None) -> None:
        """Show ``profile`` in the form (None: a blank new one)."""
        self._editing = profile.name if profile is not None else None
        p = profile or Profile(name="", bootstrap="")
        self.name.setText(p.name)
        self.bootstrap.setText(p.bootstrap)
        self.protocol.setCurrentText(p.security_protocol)
        self.mechanism.setCurrentText(p.sasl_mechanism or SASL_MECHANISMS[0])
        self.username.setText(p.username or "")
        self.password.clear()
        self.ca_file.setText(p.ca_file or "")
        self.interval.setValue(p.interval_s)
        self.test_result.clear()
        self.delete_button.setEnabled(profile is not None)
        self.revalidate()

    # -- the form ---------------------------------------------------------------------

    def profile(self) -> Profile:
        """What the form says (not validated)."""
        sasl = self.protocol.currentText().startswith("SASL_")
        ssl = self.protocol.currentText().endswith("SSL")
        return Profile(
            name=self.name.text().strip(),
            bootstrap=self.bootstrap.text().strip(),
            security_protocol=self.protocol.currentText(),
            sasl_mechanism=self.mechanism.currentText() if sasl else None,
            username=self.username.text().strip() or None if sasl else None,
            ca_file=self.ca_file.text().strip() or None if ssl else None,
            interval_s=round(self.interval.value(), 1),
        )

    def validate(self) -> str | None:
        taken = {p.name for p in self.store.profiles()} - {self._editing or ""}
        return profile_problem(self.profile(), "", taken=taken)

    def revalidate(self, *_: object) -> None:
        sasl = self.protocol.currentText().startswith("SASL_")
        ssl = self.protocol.currentText().endswith("SSL")
        for w in (self.mechanism, self.username, self.password):
            w.setEnabled(sasl)
        self.ca_file.setEnabled(ssl)
        self.ca_browse.setEnabled(ssl)
        if sasl and self.vault.persistent:
            self.password.setPlaceholderText(
                "kept in the system keyring" + (" (empty: keep it)" if self._editing else ""))
            self.keyring_note.setText("The password goes to the system keyring, never to "
                                      "the settings file.")
        elif sasl:
            self.password.setPlaceholderText("asked for when you connect")
            self.keyring_note.setText("No system keyring is available: the password is "
                                      "kept in memory for this session only and asked for "
                                      "when you connect.")
        else:
            self.password.setPlaceholderText("")
            self.keyring_note.setText("")
        self.keyring_note.setVisible(bool(self.keyring_note.text()))
        reason = self.validate()
        self.problem.setText(reason or "")
        self.problem.setVisible(reason is not None)
        self.save_button.setEnabled(reason is None)
        self.test_button.setEnabled(not self.testing and (
            reason is None or reason.startswith("a profile named")
            or reason == "the profile needs a name"))

    def _browse_ca(self) -> None:
        dialog = QFileDialog(self, "CA certificate", self.ca_file.text() or "",
                             "Certificates (*.pem *.crt *.cer);;All files (*)")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(self.ca_file.setText)
        self.file_dialog = dialog
        dialog.open()

    # -- save, delete, test --------------------------------------------------------------

    def save(self) -> None:
        if self.validate() is not None:
            return
        profile = self.profile()
        old = self._editing
        self.store.save(profile, old_name=old)
        self._editing = profile.name
        password = self.password.text()
        vault = self.vault

        def keep() -> None:
            if old is not None and old != profile.name:
                moved = vault.get(old)
                vault.delete(old)
                if moved is not None and not password:
                    vault.set(profile.name, moved)
            if profile.needs_password and password:
                vault.set(profile.name, password)
            elif not profile.needs_password:
                vault.delete(profile.name)

        def kept(_result: object, error: BaseException | None) -> None:
            self.saves_done += 1
            if error is not None:
                self.problem.setText(f"The profile was saved, but not its password: "
                                     f"{error_text(error)}")
                self.problem.show()
            self.profiles_changed.emit()

        self.worker.submit(keep, kept)
        self._reload(profile.name)

    def delete_profile(self) -> None:
        name = self._editing
        if name is None:
            return
        self.store.delete(name)
        vault = self.vault
        self.worker.submit(lambda: vault.delete(name),
                           lambda _r, _e: self.profiles_changed.emit())
        self._reload()
        if self.list.count() == 0:
            self.new_profile()

    def test(self) -> None:
        if self.testing:
            return
        profile = self.profile()
        typed = self.password.text()
        vault, timeout = self.vault, self.test_timeout_s
        saved_name = self._editing

        def run() -> str:
            password = typed or (vault.get(saved_name) if saved_name else None)
            if profile.needs_password and password is None:
                raise ValueError("type the password to test the connection")
            return check_connection(profile, password, timeout)

        self.testing = True
        self.test_button.setEnabled(False)
        self.test_result.setStyleSheet("")
        self.test_result.setText(f"Connecting to {profile.bootstrap}…")
        self.worker.submit(run, self._tested)

    def _tested(self, result: object, error: BaseException | None) -> None:
        self.testing = False
        self.tests_done += 1
        if error is not None:
            text = getattr(error, "reason", None) or error_text(error)
            self.test_result.setObjectName("ErrorLabel")
            self.test_result.setText(text)
        else:
            self.test_result.setObjectName("TestResult")
            self.test_result.setText(str(result))
        self.test_result.style().unpolish(self.test_result)
        self.test_result.style().polish(self.test_result)
        self.revalidate()

    def done(self, result: int) -> None:
        self.worker.shutdown()
        super().done(result)


__all__ = ["ProfilesDialog", "check_connection", "connection_summary"]
